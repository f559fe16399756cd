// A worker killed mid-training: a new worker picks the activity up and resumes from the
// last epoch checkpoint named in the heartbeat, instead of starting over.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { startWorker, temporalClient, testConfig, testEnv, waitForTraining, type WorkerProcess } from './harness';
import { LAB_CNN_DEFAULTS, type LabCnnRunResult } from '../../contracts';
import type { trainLabCnn } from '../../workflows';

const env = testEnv();
const config = testConfig(env);
const workers: WorkerProcess[] = [];
let client: Client | undefined;

after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

test('SIGKILL mid-epoch, new worker resumes from the checkpoint', async () => {
  client = await temporalClient(config);
  const first = await startWorker(env);
  workers.push(first);
  const id = `test-kill-${Date.now().toString(36)}`;
  const epochs = 3;
  const handle = await client.workflow.start<typeof trainLabCnn>('trainLabCnn', {
    taskQueue: config.taskQueues.cpu,
    workflowId: id,
    args: [{ options: { ...LAB_CNN_DEFAULTS, epochs, limit: 12000, batchSize: 64 } }],
  });

  // Wait until epoch 2 is under way: epoch 1's checkpoint exists and is in the heartbeat.
  const progress = await waitForTraining(handle, (p) => p.step === 'train' && (p.detail?.epoch ?? 0) >= 2 && (p.detail?.batch ?? 0) >= 3, 240_000);
  assert.ok(progress.detail!.epoch! < epochs, 'killed before the last epoch');
  await first.stop('SIGKILL');

  workers.push(await startWorker(env));
  const result = (await handle.result()) as LabCnnRunResult;
  assert.ok(result.resumedFromEpoch >= 1, `resumed from epoch ${result.resumedFromEpoch}`);
  assert.equal(result.history.length, epochs);
  assert.deepEqual(
    result.history.map((h) => h.epoch),
    [1, 2, 3],
  );
  assert.ok(result.testAccuracy > 0.6, `test accuracy ${result.testAccuracy}`);

  // The activity ran twice: once killed, once resumed.
  const history = await handle.fetchHistory();
  const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
  const trainStarted = started.find((e) => (e.activityTaskStartedEventAttributes!.attempt ?? 1) > 1);
  assert.ok(trainStarted, 'the training activity was retried');
});
