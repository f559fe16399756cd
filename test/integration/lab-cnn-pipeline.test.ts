// The lab-CNN pipeline through the real stack: CLI → Temporal → worker → MinIO.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Client } from '@temporalio/client';
import { runTl, startWorker, temporalClient, testConfig, testEnv, testStore, type WorkerProcess, readJson } from './harness';
import { runKeys } from '../../contracts';
import type { RunReport } from '../../lib/report/lab-cnn';
import type { ArtifactStore } from '../../lib/store/store';
import { FASHION_MNIST_FILES } from '../../lib/data/fashion-mnist';

const env = testEnv();
const config = testConfig(env);
let worker: WorkerProcess;
let client: Client;
let store: ArtifactStore;
const stamp = Date.now().toString(36);

before(async () => {
  worker = await startWorker(env);
  client = await temporalClient(config);
  store = testStore(config);
});

after(async () => {
  await worker?.stop();
  await client?.connection.close();
});

test('a short run on a 2,000-image subset trains, evaluates and reports', async () => {
  const id = `test-lab-cnn-${stamp}-a`;
  const r = await runTl(['run', 'lab-cnn', '--limit', '2000', '--epochs', '2', '--batch-size', '64', '--id', id, '--wait'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /conv1\s+28×28×1\s+5\s+1\s+2\s+28×28×16/);
  const accuracy = Number(/test accuracy: ([\d.]+)%/.exec(r.stdout)?.[1]);
  assert.ok(accuracy > 55, `test accuracy ${accuracy}% after 2 epochs on 1,800 images`);
  assert.match(r.stdout, new RegExp(`report: s3://${config.s3.bucket}/runs/${id}/report/report\\.html`));

  const report = await readJson<RunReport>(store, runKeys(id).reportJson);
  assert.equal(report.history.length, 2);
  assert.equal(report.dataset.train + report.dataset.validation, 2000);
  assert.equal(report.dataset.test, 10000);
  assert.equal(report.test.count, 10000);
  assert.equal(report.test.confusion.flat().reduce((a, b) => a + b, 0), 10000);
  assert.ok(Math.abs(report.test.accuracy * 100 - accuracy) < 0.01);
  assert.ok(report.history.every((h) => h.imagesPerSecond > 0 && h.seconds > 0));

  // Only keys, options and metrics cross workflow history: a whole run stays small.
  const history = await client.workflow.getHandle(id).fetchHistory();
  const historyBytes = Buffer.byteLength(JSON.stringify(history));
  assert.ok(historyBytes < 200_000, `workflow history is ${historyBytes} bytes`);

  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tl-report-')), 'report.html');
  const fetched = await runTl(['report', id, '--out', out], env);
  assert.equal(fetched.code, 0, fetched.stderr);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /Ankle boot/);
  const markdown = await runTl(['report', id], env);
  assert.match(markdown.stdout, /Ankle boot/);
});

test('a second run reuses the ingested dataset', async () => {
  const id = `test-lab-cnn-${stamp}-b`;
  const r = await runTl(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--id', id, '--wait'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const report = await readJson<RunReport>(store, runKeys(id).reportJson);
  assert.equal(report.config.ingestionCached, true);
});

test('ingestion reads the IDX files from an S3 prefix too', async () => {
  const prefix = `test/fashion-mnist-${stamp}`;
  for (const name of Object.values(FASHION_MNIST_FILES)) await store.putFile(`${prefix}/${name}`, path.join(config.fashionMnistDir, name));
  const id = `test-lab-cnn-${stamp}-s3`;
  const r = await runTl(['run', 'lab-cnn', '--source', `s3://${config.s3.bucket}/${prefix}`, '--limit', '300', '--epochs', '1', '--id', id, '--wait'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const report = await readJson<RunReport>(store, runKeys(id).reportJson);
  // The same bytes as the local directory: the same dataset, so nothing is ingested twice.
  assert.equal(report.config.ingestionCached, true);
  const local = await readJson<RunReport>(store, runKeys(`test-lab-cnn-${stamp}-a`).reportJson);
  assert.equal(report.dataset.manifestKey, local.dataset.manifestKey);
});

/** A copy of the Fashion-MNIST directory with one file replaced. */
function sourceWith(file: string, bytes: Uint8Array): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-bad-source-'));
  for (const name of Object.values(FASHION_MNIST_FILES)) fs.copyFileSync(path.join(config.fashionMnistDir, name), path.join(dir, name));
  fs.writeFileSync(path.join(dir, file), bytes);
  return dir;
}

test('bad sources fail the run at once with one clear line, and stored data stays intact', async () => {
  const labels = zlib.gunzipSync(fs.readFileSync(path.join(config.fashionMnistDir, FASHION_MNIST_FILES.testLabels)));
  const wrongMagic = Buffer.from(labels);
  wrongMagic[3] = 3;
  const gz = fs.readFileSync(path.join(config.fashionMnistDir, FASHION_MNIST_FILES.testLabels));
  const cases: [string, string, RegExp][] = [
    ['missing directory', '/nonexistent/fashion-mnist', /source directory \/nonexistent\/fashion-mnist does not exist/],
    ['wrong magic', sourceWith(FASHION_MNIST_FILES.testLabels, zlib.gzipSync(wrongMagic)), /t10k-labels-idx1-ubyte\.gz: wrong magic number 0x00000803, expected 0x00000801/],
    ['truncated gzip', sourceWith(FASHION_MNIST_FILES.testLabels, gz.subarray(0, gz.length - 100)), /t10k-labels-idx1-ubyte\.gz: truncated gzip stream/],
  ];
  const before = await store.list('datasets/fashion-mnist/manifests/');
  for (const [what, source, pattern] of cases) {
    const started = Date.now();
    const r = await runTl(['run', 'lab-cnn', '--source', source, '--id', `test-bad-${stamp}-${what.replace(/ /g, '-')}`, '--wait'], env);
    assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tl: run failed: /);
    assert.match(r.stderr, pattern, what);
    assert.ok(Date.now() - started < 60_000, `${what}: failed fast, without retries`);
  }
  assert.deepEqual(await store.list('datasets/fashion-mnist/manifests/'), before);
  for (const key of before) await store.getBytes(key); // still hash-verified
});
