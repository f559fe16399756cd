// A run that trains for minutes (small data, many epochs) on the real stack: its history holds
// a fixed set of events plus at most one record per epoch, never more than one per record
// interval, so its size does not follow its training time; and `tl run --wait` and
// `tl runs show` show live numbers from the heartbeats all along.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { TL_BIN, startWorker, temporalClient, testConfig, testEnv, runTl, waitFor, type WorkerProcess } from './harness';
import { historyStats } from '../../temporal/history-stats';

const env = testEnv();
const config = testConfig(env);
let worker: WorkerProcess | undefined;
let client: Client | undefined;
let cli: ChildProcess | undefined;
let runId: string | undefined;

after(async () => {
  // A failed or timed-out test leaves neither its CLI nor its run behind.
  if (cli && cli.exitCode === null) cli.kill();
  if (client && runId) await client.workflow.getHandle(runId).terminate('test ended').catch(() => undefined);
  await worker?.stop();
  await client?.connection.close();
});

const EPOCHS = 100;
const RECORD_EVERY = 20;
/** Events of a lab-CNN run without promotion and without records (start, three activities, steps, end). */
const FIXED_EVENTS = 32;

test('a many-epoch run: history of fixed size plus throttled epoch records; live progress throughout', { timeout: 900_000 }, async () => {
  worker = await startWorker(env);
  client = await temporalClient(config);
  const id = (runId = `long-run-${Date.now().toString(36)}`);
  const started = Date.now();
  cli = spawn(
    process.execPath,
    [TL_BIN, 'run', 'lab-cnn', '--id', id, '--epochs', String(EPOCHS), '--limit', '2000', '--batch-size', '64', '--no-promote', '--record-every', String(RECORD_EVERY), '--wait'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Each progress line the CLI prints, with when it came (not on a terminal it prints one every 10 s).
  const lines: { at: number; text: string }[] = [];
  let stdout = '';
  let stderr = '';
  cli.stdout!.on('data', (d: Buffer) => {
    stdout += d;
    for (const text of String(d).split('\n')) if (/\d+% \| /.test(text)) lines.push({ at: Date.now(), text: text.trim() });
  });
  cli.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => cli!.on('exit', (code) => resolve(code ?? -1)));

  // `tl runs show` in mid-training: the heartbeat's numbers, merged with the recorded step.
  const shown = await waitFor(
    'tl runs show with live training numbers',
    async () => {
      const r = await runTl(['runs', 'show', id], env);
      if (r.code !== 0) return undefined;
      const progress = JSON.parse(r.stdout).progress as { line?: string; percent?: number } | undefined;
      return progress?.line && /^train epoch \d+\/100 batch \d+\/\d+ loss/.test(progress.line) ? progress : undefined;
    },
    300_000,
    1000,
  );
  assert.ok(shown.percent! >= 0 && shown.percent! < 100, `percent ${shown.percent}`);

  const code = await exited;
  const seconds = (Date.now() - started) / 1000;
  assert.equal(code, 0, `tl run failed:\n${stdout}\n${stderr}`);
  assert.match(stdout, /100% \| done/);
  assert.match(stdout, /test accuracy: \d/);

  const stats = historyStats(await client.workflow.getHandle(id).fetchHistory());
  const records = stats.byType.workflowExecutionSignaled ?? 0;
  const wallSeconds = stats.wallSeconds;
  console.log(`${EPOCHS} epochs in ${seconds.toFixed(0)} s: ${stats.events} history events, ${records} epoch records; ${JSON.stringify(stats.byType)}`);
  assert.ok(wallSeconds > 60, `the run took ${wallSeconds} s: too short to show growth with time`);
  assert.ok(records >= 1, 'the workflow recorded epoch boundaries');
  assert.ok(records <= EPOCHS, `${records} records for ${EPOCHS} epochs`);
  assert.ok(records <= wallSeconds / RECORD_EVERY + 1, `${records} records in ${wallSeconds} s: more than one per ${RECORD_EVERY} s`);
  // A record is a signal and at most one workflow task (three events); nothing else grows.
  assert.ok(stats.events <= FIXED_EVENTS + 4 * records, `${stats.events} events for ${records} records`);
  assert.equal(stats.byType.activityTaskStarted, 3, 'ingest, train, evaluate: each once');

  // Live progress all along: lines while training name ever later epochs, the bar never goes
  // back, and an estimate of the time left is shown.
  const training = lines.filter((l) => l.text.includes('| train epoch'));
  assert.ok(training.length >= 4, `only ${training.length} training lines:\n${stdout}`);
  const epochs = training.map((l) => Number(/train epoch (\d+)\//.exec(l.text)![1]));
  assert.ok(new Set(epochs).size >= 3, `epochs shown: ${epochs.join(', ')}`);
  for (let i = 1; i < epochs.length; i++) assert.ok(epochs[i] >= epochs[i - 1], `epoch ${epochs[i]} after ${epochs[i - 1]}`);
  const percents = lines.map((l) => Number(/(\d+)% \|/.exec(l.text)![1]));
  for (let i = 1; i < percents.length; i++) assert.ok(percents[i] >= percents[i - 1], `${percents[i]}% after ${percents[i - 1]}%:\n${stdout}`);
  assert.ok(training.some((l) => /\| ETA \d/.test(l.text)), 'an ETA is shown');
  // No silent stretch: consecutive lines while training come at most 30 s apart (one is due every 10 s).
  for (let i = 1; i < training.length; i++) assert.ok(training[i].at - training[i - 1].at <= 30_000, `${(training[i].at - training[i - 1].at) / 1000} s without progress`);
});
