// Five runs at once on one dataset that none of them has ingested yet: each run keeps to its own
// keys, the five ingestions race on the shared content-addressed dataset objects safely, and all
// five complete on the same manifest.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Client } from '@temporalio/client';
import { startWorker, temporalClient, testStore, type WorkerProcess, readJson } from '../integration/harness';
import { tempDir } from '../temp-dirs';
import { configOf, faultEnv, verifyAll } from './fault-stack';
import { labOptions, startLab } from './runs';
import { FASHION_MNIST_FILES } from '../../lib/data/fashion-mnist';
import type { RunReport } from '../../lib/report/lab-cnn';
import { runKeys } from '../../contracts';

const env = faultEnv();
const config = configOf(env);
const workers: WorkerProcess[] = [];
let client: Client | undefined;
const RUNS = 5;

after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

/** The same images in other gzip bytes: a source never ingested before, with the same content. */
function recompressedSource(): string {
  const dir = tempDir('tl-faults-source-');
  for (const name of Object.values(FASHION_MNIST_FILES)) {
    const content = zlib.gunzipSync(fs.readFileSync(path.join(config.fashionMnistDir, name)));
    fs.writeFileSync(path.join(dir, name), zlib.gzipSync(content, { level: 1 }));
  }
  return dir;
}

test('5 runs at once on one new dataset: distinct keys per run, one shared manifest, all complete', async () => {
  client = await temporalClient(config);
  workers.push(await startWorker(env), await startWorker(env));
  const store = testStore(config);
  const source = recompressedSource();
  const manifestsBefore = new Set(await store.list('datasets/fashion-mnist/manifests/'));
  const stamp = Date.now().toString(36);
  const ids = Array.from({ length: RUNS }, (_, i) => `faults-concurrent-${stamp}-${i}`);
  const handles = await Promise.all(ids.map((id, i) => startLab(client!, config, id, labOptions({ source, limit: 1000, epochs: 1, seed: i + 1 }))));
  const results = await Promise.all(handles.map((h) => h.result()));

  assert.deepEqual(results.map((r) => r.runId), ids);
  assert.equal(new Set(results.map((r) => r.manifestKey)).size, 1, 'every run used the same dataset manifest');
  const newManifests = (await store.list('datasets/fashion-mnist/manifests/')).filter((k) => !manifestsBefore.has(k));
  assert.ok(newManifests.length <= 1, `one manifest for the new source, not ${newManifests.length}`);
  for (const [i, r] of results.entries()) {
    // One epoch on 950 images: well above chance (10%) is all this test asks.
    assert.ok(r.testAccuracy > 0.25, `run ${i}: test accuracy ${r.testAccuracy}`);
    assert.equal(r.modelKey, `${runKeys(ids[i]).model}/model.json`);
    const report = await readJson<RunReport>(store, runKeys(ids[i]).reportJson);
    assert.equal(report.runId, ids[i], 'each report is its own run’s');
    assert.equal(report.environment.seed, i + 1);
    const keys = await store.list(`runs/${ids[i]}/`);
    assert.ok(keys.every((k) => k.startsWith(`runs/${ids[i]}/`)));
    assert.ok(keys.length >= 7, `run ${i} wrote its checkpoint, model and report (${keys.length} objects)`);
    await verifyAll(store, `runs/${ids[i]}/`);
  }
  console.log(`ingestion: ${results.length} runs, manifest ${results[0].manifestKey}; ${await verifyAll(store, 'datasets/fashion-mnist/')} dataset objects verify`);
});
