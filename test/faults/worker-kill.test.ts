// A worker SIGKILLed mid-epoch: a new worker resumes from the last checkpoint (redoing only the
// epoch that was cut short) and ends where an uninterrupted run with the same seed ends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { startWorker, temporalClient, type WorkerProcess } from '../integration/harness';
import { configOf, faultEnv } from './fault-stack';
import { activityAttempts, labOptions, startLab, waitForTraining } from './runs';

const env = faultEnv();
const config = configOf(env);
const workers: WorkerProcess[] = [];
let client: Client | undefined;
const stamp = Date.now().toString(36);
/** Largest allowed gap in test accuracy between the interrupted and the uninterrupted run. */
const TOLERANCE = 0.02;

after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

test('worker SIGKILL mid-epoch: resumes from the last checkpoint, one epoch redone at most, same accuracy as an uninterrupted run', async () => {
  client = await temporalClient(config);
  workers.push(await startWorker(env));
  // 15,000 images: epochs last several seconds even on the native backend, time enough to kill inside one.
  const options = labOptions({ limit: 15000, epochs: 3 });
  const reference = await (await startLab(client, config, `faults-kill-ref-${stamp}`, options)).result();

  const handle = await startLab(client, config, `faults-kill-${stamp}`, options);
  // Kill inside epoch 2 or later, 3 s after it began: the checkpoint of the previous epoch is
  // in a heartbeat by then (heartbeats go out at least every 2 s).
  let seen: { epoch: number; at: number } | undefined;
  const atKill = await waitForTraining(handle, (p) => {
    const epoch = p.step === 'train' ? (p.detail?.epoch ?? 0) : 0;
    if (epoch < 2) return false;
    if (seen?.epoch !== epoch) seen = { epoch, at: Date.now() };
    return Date.now() - seen.at >= 3000;
  });
  const killedInEpoch = atKill.detail!.epoch!;
  assert.ok(killedInEpoch <= options.epochs, 'killed while training');
  await workers[0].stop('SIGKILL');
  workers.push(await startWorker(env));

  const result = await handle.result();
  console.log(
    `killed in epoch ${killedInEpoch}, resumed from epoch ${result.resumedFromEpoch}; ` +
      `test accuracy ${(result.testAccuracy * 100).toFixed(2)}% vs ${(reference.testAccuracy * 100).toFixed(2)}% uninterrupted`,
  );
  assert.deepEqual(result.history.map((h) => h.epoch), [1, 2, 3], 'each epoch recorded once');
  assert.equal(result.resumedFromEpoch, killedInEpoch - 1, 'resumed from the checkpoint of the epoch before the one cut short');
  assert.ok(
    Math.abs(result.testAccuracy - reference.testAccuracy) <= TOLERANCE,
    `test accuracy ${result.testAccuracy} differs from the uninterrupted ${reference.testAccuracy} by more than ${TOLERANCE}`,
  );
  const attempts = await activityAttempts(handle);
  assert.equal(attempts.trainLabCnn, 2, 'the training activity ran twice: killed, then resumed');
  assert.equal(attempts.ingestFashionMnist, 1);
});
