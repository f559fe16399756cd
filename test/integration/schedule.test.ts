// `tl schedule` against the real Temporal server: a schedule created with --every 2m starts
// tiny lab-CNN runs on this file's own task queue, tagged with the schedule's name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { runTl, startWorker, temporalClient, testConfig, testEnv, waitFor, type WorkerProcess } from './harness';
import { TL_PIPELINE, TL_SCHEDULE, TL_STEP } from '../../contracts/search-attributes';
import type { ScheduleView } from '../../cli/schedule';
import type { TrainLabCnnInput } from '../../contracts';

const env = testEnv();
const config = testConfig(env);
const name = `test-schedule-${Date.now().toString(36)}`;
let worker: WorkerProcess;
let client: Client;

const tl = async (...args: string[]) => {
  const r = await runTl(args, env);
  assert.equal(r.code, 0, `tl ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
};

before(async () => {
  worker = await startWorker(env);
  client = await temporalClient(config);
});

after(async () => {
  await runTl(['schedule', 'delete', name], env);
  await worker?.stop();
  await client?.connection.close();
});

test('create --every 2m: options and policies reach Temporal', async () => {
  const created = (await tl(
    'schedule', 'create', name, '--every', '2m', '--pipeline', 'lab-cnn', '--limit', '500', '--epochs', '1', '--overlap', 'buffer-one', '--catchup-window', '10m', '--json',
  )) as ScheduleView;
  assert.equal(created.name, name);
  assert.equal(created.spec, 'every 2m');
  assert.equal(created.paused, false);

  const description = await client.schedule.getHandle(name).describe();
  assert.equal(description.policies.overlap, 'BUFFER_ONE');
  assert.equal(description.policies.catchupWindow, 600_000);
  assert.deepEqual(description.spec.intervals?.map((i) => i.every), [120_000]);
  assert.equal(description.action.type, 'startWorkflow');
  if (description.action.type !== 'startWorkflow') return;
  assert.equal(description.action.workflowType, 'trainLabCnn');
  assert.equal(description.action.taskQueue, config.taskQueues.cpu);
  const [input] = description.action.args as [TrainLabCnnInput];
  assert.equal(input.options.limit, 500);
  assert.equal(input.options.epochs, 1);
  assert.equal(input.requestedBy, `schedule:${name}`);
  assert.equal(input.promotion?.modelName, `lab-cnn-fashion-mnist`);
  const attributes = description.action.typedSearchAttributes as TypedSearchAttributes;
  assert.equal(attributes.get(TL_SCHEDULE), name);
  assert.equal(attributes.get(TL_PIPELINE), 'lab-cnn');

  const again = await runTl(['schedule', 'create', name, '--every', '2m', '--pipeline', 'lab-cnn'], env);
  assert.equal(again.code, 2);
  assert.match(again.stderr, new RegExp(`^tl: schedule ${name} already exists`));
});

test('the schedule starts a run on its own within one interval, and the run finishes tagged with its name', { timeout: 400_000 }, async () => {
  const runId = await waitFor(
    'the first scheduled run',
    async () => ((await tl('schedule', 'show', name, '--json')) as ScheduleView).recentRuns[0]?.runId,
    150_000,
    2_000,
  );
  assert.match(runId, new RegExp(`^lab-cnn-${name}-\\d{4}-\\d\\d-\\d\\dT`));
  const handle = client.workflow.getHandle(runId);
  const result = await handle.result();
  assert.ok(result.testAccuracy > 0.3, `test accuracy ${result.testAccuracy}`);
  assert.ok(!result.runId.includes(':'), `artifact run id ${result.runId} has no ':'`);
  const attributes = (await handle.describe()).typedSearchAttributes;
  assert.equal(attributes.get(TL_SCHEDULE), name);
  assert.equal(attributes.get(TL_STEP), 'done');

  const report = await runTl(['report', runId], env);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /accuracy/i);
});

test('trigger starts a run now; runs list --schedule finds the schedule\'s runs', { timeout: 300_000 }, async () => {
  const triggered = (await tl('schedule', 'trigger', name, '--json')) as { runId: string };
  assert.ok(triggered.runId?.startsWith(`lab-cnn-${name}-`), JSON.stringify(triggered));
  await client.workflow.getHandle(triggered.runId).result();
  const runs = (await tl('runs', 'list', '--schedule', name, '--status', 'completed', '--json')) as { id: string; schedule: string }[];
  assert.ok(runs.some((r) => r.id === triggered.runId), `${triggered.runId} is listed`);
  assert.ok(runs.length >= 2 && runs.every((r) => r.schedule === name), JSON.stringify(runs));
});

test('pause with a note, unpause, list, delete', async () => {
  const paused = (await tl('schedule', 'pause', name, '--note', 'data refresh pending', '--json')) as ScheduleView;
  assert.deepEqual([paused.paused, paused.note], [true, 'data refresh pending']);
  assert.equal((await client.schedule.getHandle(name).describe()).state.paused, true);

  const unpaused = (await tl('schedule', 'unpause', name, '--json')) as ScheduleView;
  assert.equal(unpaused.paused, false);

  const listed = (await tl('schedule', 'list', '--json')) as ScheduleView[];
  const mine = listed.find((s) => s.name === name);
  assert.ok(mine, 'schedule list includes it');
  assert.equal(mine.pipeline, 'lab-cnn');

  assert.deepEqual(await tl('schedule', 'delete', name, '--json'), { name, deleted: true });
  const gone = await runTl(['schedule', 'show', name], env);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, new RegExp(`^tl: schedule ${name} does not exist`));
});

test('bad timetables are usage errors that name the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--every', '2 fortnights'], /^tl: --every "2 fortnights" is invalid/],
    [['--cron', '61 * * * *'], /^tl: --cron "61 \* \* \* \*" is invalid/],
    [['--every', '1h', '--cron', '0 3 * * *'], /^tl: give exactly one of --every/],
    [['--every', '1h', '--catchup-window', '1s'], /^tl: --catchup-window "1s" is invalid/],
  ];
  for (const [flags, message] of cases) {
    const r = await runTl(['schedule', 'create', `${name}-bad`, '--pipeline', 'lab-cnn', ...flags], env);
    assert.equal(r.code, 2, flags.join(' '));
    assert.match(r.stderr, message);
  }
  assert.equal(await client.schedule.getHandle(`${name}-bad`).describe().catch((e: Error) => e.name), 'ScheduleNotFoundError');
});
