// The Temporal server stopped and started again mid-run. Its history is in SQLite under the state
// directory, so the run survives; the worker and `tl run --wait` reconnect on their own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { TL_BIN, startWorker, temporalClient, type WorkerProcess } from '../integration/harness';
import { configOf, faultEnv, sleep, startServers, stopServer } from './fault-stack';
import { waitForTraining } from './runs';
import type { LabCnnRunResult } from '../../contracts';

const env = faultEnv();
const config = configOf(env);
const workers: WorkerProcess[] = [];
let client: Client | undefined;
const DOWN_MS = 15_000;

after(async () => {
  await startServers(config); // never leave the stack half down for the next file
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

test(`Temporal down for ${DOWN_MS / 1000} s mid-run: the same worker and the waiting CLI reconnect and the run completes`, async () => {
  const worker = await startWorker(env);
  workers.push(worker);
  const id = `faults-temporal-${Date.now().toString(36)}`;
  const cli = spawn(process.execPath, [TL_BIN, 'run', 'lab-cnn', '--limit', '6000', '--epochs', '3', '--seed', '7', '--id', id, '--wait', '--json'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  cli.stdout.on('data', (d) => (stdout += d));
  cli.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => cli.once('exit', (code) => resolve(code ?? -1)));

  client = await temporalClient(config);
  await sleep(1000); // let the CLI start the run
  await waitForTraining(client.workflow.getHandle(id), (p) => p.step === 'train' && (p.detail?.epoch ?? 0) >= 1 && (p.detail?.batch ?? 0) >= 5);
  await stopServer(config, 'temporal');
  await sleep(DOWN_MS);
  await startServers(config);

  const code = await exited;
  assert.equal(code, 0, `tl run exited ${code}:\n${stderr}\n${stdout.slice(-2000)}`);
  const result = JSON.parse(stdout) as LabCnnRunResult;
  assert.equal(result.runId, id);
  assert.deepEqual(result.history.map((h) => h.epoch), [1, 2, 3]);
  assert.ok(result.testAccuracy > 0.6, `test accuracy ${result.testAccuracy}`);
  assert.equal(worker.child.exitCode, null, 'the worker process lived through the outage');
  assert.equal(worker.child.signalCode, null);
  const description = await client.workflow.getHandle(id).describe();
  assert.equal(description.status.name, 'COMPLETED');
});
