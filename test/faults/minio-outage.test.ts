// MinIO down for 30 s mid-run: activities fail, Temporal retries them with backoff, and the run
// completes. Objects appear in S3 only whole, and every object of the run verifies afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { startWorker, temporalClient, testStore, type WorkerProcess } from '../integration/harness';
import { configOf, faultEnv, sleep, startServers, stopServer, verifyAll } from './fault-stack';
import { activityAttempts, labOptions, startLab, waitForTraining } from './runs';
import { runKeys } from '../../contracts';

const env = faultEnv();
const config = configOf(env);
const workers: WorkerProcess[] = [];
let client: Client | undefined;
const DOWN_MS = 30_000;

after(async () => {
  await startServers(config);
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

test('MinIO down for 30 s mid-run: activities retry with backoff, the run completes, every stored object verifies', async () => {
  client = await temporalClient(config);
  workers.push(await startWorker(env));
  const id = `faults-minio-${Date.now().toString(36)}`;
  const handle = await startLab(client, config, id, labOptions({ limit: 6000 }));
  await waitForTraining(handle, (p) => p.step === 'train' && (p.detail?.epoch ?? 0) >= 1 && (p.detail?.batch ?? 0) >= 5);
  await stopServer(config, 'minio');
  const downAt = Date.now();
  await sleep(DOWN_MS);
  await startServers(config);

  const result = await handle.result();
  assert.deepEqual(result.history.map((h) => h.epoch), [1, 2, 3]);
  assert.ok(result.testAccuracy > 0.6, `test accuracy ${result.testAccuracy}`);
  const attempts = await activityAttempts(handle);
  console.log(`MinIO was down ${DOWN_MS / 1000} s from ${new Date(downAt).toISOString()}; activity attempts: ${JSON.stringify(attempts)}`);
  assert.ok(Object.values(attempts).some((n) => n > 1), `some activity was retried: ${JSON.stringify(attempts)}`);

  // Every object of the run, and the dataset it read, is whole: each read checks its SHA-256.
  const store = testStore(config);
  const runObjects = await verifyAll(store, `runs/${id}/`);
  const keys = await store.list(`runs/${id}/`);
  for (const epoch of [1, 2, 3]) assert.ok(keys.includes(`${runKeys(id).checkpoint(epoch)}/model.json`), `checkpoint of epoch ${epoch}`);
  assert.ok(keys.includes(runKeys(id).reportJson));
  const datasetObjects = await verifyAll(store, 'datasets/fashion-mnist/');
  console.log(`verified ${runObjects} run objects and ${datasetObjects} dataset objects`);
});
