// Graceful worker shutdown: SIGTERM mid-epoch stops polling, the training activity ends at its next
// batch with its checkpoint in the heartbeat, and the process exits within its bound; the next
// worker resumes from that checkpoint at once (no heartbeat time-out to wait for). A second signal
// exits immediately.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { startWorker, temporalClient, testConfig, testEnv, waitFor, waitForTraining, type WorkerProcess } from './harness';
import { LAB_CNN_DEFAULTS, type LabCnnOptions, type LabCnnRunResult } from '../../contracts';
import type { trainLabCnn } from '../../workflows';

const BOUND_S = 30;
const env = testEnv({ TL_WORKER_SHUTDOWN_SECONDS: String(BOUND_S) });
const config = testConfig(env);
const workers: WorkerProcess[] = [];
let client: Client | undefined;

after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

const exitOf = (w: WorkerProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (w.child.exitCode !== null || w.child.signalCode !== null) resolve({ code: w.child.exitCode, signal: w.child.signalCode });
    else w.child.once('exit', (code, signal) => resolve({ code, signal }));
  });

/** A lab-CNN training run on the CPU queue with these options over the defaults. */
const startTraining = (c: Client, idPrefix: string, options: Partial<LabCnnOptions>) =>
  c.workflow.start<typeof trainLabCnn>('trainLabCnn', {
    taskQueue: config.taskQueues.cpu,
    workflowId: `${idPrefix}-${Date.now().toString(36)}`,
    args: [{ options: { ...LAB_CNN_DEFAULTS, ...options } }],
  });

test('SIGTERM mid-epoch: the activity checkpoints and stops, the worker exits in bound, the next resumes', async () => {
  client = await temporalClient(config);
  const first = await startWorker(env);
  workers.push(first);
  const epochs = 3;
  const handle = await startTraining(client, 'test-shutdown', { epochs, limit: 6000, batchSize: 32 });
  await waitForTraining(handle, (p) => p.step === 'train' && (p.detail?.epoch ?? 0) >= 2, 600_000);

  const t0 = Date.now();
  const exited = exitOf(first);
  first.child.kill('SIGTERM');
  const { code, signal } = await exited;
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds < BOUND_S, `exited after ${seconds.toFixed(1)} s (bound ${BOUND_S} s)`);
  assert.equal(signal, null, 'exited on its own, not killed by the signal');
  assert.match(first.output(), /SIGTERM: stopping/);
  assert.notEqual(code, null);

  const t1 = Date.now();
  workers.push(await startWorker(env));
  const result = (await handle.result()) as LabCnnRunResult;
  assert.ok(result.resumedFromEpoch >= 1, `resumed from epoch ${result.resumedFromEpoch}`);
  assert.deepEqual(result.history.map((h) => h.epoch), [1, 2, 3]);
  // The attempt ended on shutdown instead of timing out: the retry did not wait for the heartbeat time-out.
  const history = await handle.fetchHistory();
  const retried = history.events!.find((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
  assert.ok(retried, 'the training activity was retried');
  assert.ok((Date.now() - t1) / 1000 < 600);
});

test('a second signal exits at once', async () => {
  client ??= await temporalClient(config);
  const w = await startWorker(env);
  workers.push(w);
  // A batch of thousands takes seconds, so the graceful stop the first signal starts is still
  // waiting for it when the second arrives (an idle worker would finish stopping first).
  const handle = await startTraining(client, 'test-second-signal', { epochs: 1, limit: 40000, batchSize: 8192 });
  await waitForTraining(handle, (p) => p.step === 'train', 600_000);
  const exited = exitOf(w);
  // The second signal once the first is handled (signals sent back to back can merge into one);
  // a graceful exit would be 0, the immediate one is 128 + SIGTERM.
  w.child.kill('SIGTERM');
  await waitFor('the first signal to be handled', async () => (/SIGTERM: stopping/.test(w.output()) ? true : undefined), 10_000, 20);
  w.child.kill('SIGTERM');
  const { code } = await exited;
  await handle.terminate('test over').catch(() => undefined); // cleanup only: the run may already have failed
  assert.equal(code, 143, w.output());
});
