// Search attributes and memo through the real stack: registered by `tl stack up`, set at start by
// `tl run`, upserted by the workflow as its steps advance, and used by `tl runs list` filters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { runTl, startWorker, temporalClient, testConfig, testEnv, type WorkerProcess } from './harness';
import { TL_BEST_ACCURACY, TL_DATASET, TL_SCHEDULE, TL_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import type { RunSummary } from '../../cli/runs';

const env = testEnv();
const config = testConfig(env);
let worker: WorkerProcess;
let client: Client;
const id = `test-search-attributes-${Date.now().toString(36)}`;

before(async () => {
  const up = await runTl(['stack', 'up'], env);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /search attributes registered|registered search attributes/);
  worker = await startWorker(env);
  client = await temporalClient(config);
});

after(async () => {
  await worker?.stop();
  await client?.connection.close();
});

test('tl stack up registers every tl search attribute with its type', async () => {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: config.temporal.namespace });
  for (const key of TL_SEARCH_ATTRIBUTES) assert.ok(customAttributes?.[key.name], `${key.name} is registered`);
});

test('a finished run is found by pipeline and final step, with its accuracy and config', { timeout: 300_000 }, async () => {
  const r = await runTl(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--id', id, '--wait', '--json'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const result = JSON.parse(r.stdout) as { testAccuracy: number };

  const found = [];
  for await (const wf of client.workflow.list({ query: `TlPipeline = "lab-cnn" AND TlStep = "done" AND WorkflowId = "${id}"` })) found.push(wf);
  assert.equal(found.length, 1, 'the query on TlPipeline and TlStep finds the run');
  const attributes = found[0]!.typedSearchAttributes;
  assert.equal(attributes.get(TL_BEST_ACCURACY), result.testAccuracy);
  assert.equal(attributes.get(TL_DATASET), config.fashionMnistDir);
  assert.equal(attributes.get(TL_SCHEDULE), undefined, 'started by hand, not by a schedule');
  assert.equal(found[0]!.memo?.epochs, 1);
  assert.equal(found[0]!.memo?.limit, 500);

  // Nothing matches a step the run is not in.
  let running = 0;
  for await (const _ of client.workflow.list({ query: `TlStep = "train" AND WorkflowId = "${id}"` })) running++;
  assert.equal(running, 0);

  const listed = await runTl(['runs', 'list', '--pipeline', 'lab-cnn', '--status', 'completed', '--limit', '50', '--json'], env);
  assert.equal(listed.code, 0, listed.stderr);
  const runs = JSON.parse(listed.stdout) as RunSummary[];
  const mine = runs.find((x) => x.id === id);
  assert.ok(mine, `runs list --pipeline lab-cnn --status completed includes ${id}`);
  assert.deepEqual({ status: mine.status, pipeline: mine.pipeline, step: mine.step }, { status: 'COMPLETED', pipeline: 'lab-cnn', step: 'done' });
  assert.ok(runs.every((x) => x.pipeline === 'lab-cnn' && x.status === 'COMPLETED'), 'filters exclude other runs');

  const other = await runTl(['runs', 'list', '--pipeline', 'transfer', '--limit', '1000', '--json'], env);
  assert.ok(!(JSON.parse(other.stdout) as RunSummary[]).some((x) => x.id === id), 'a lab-cnn run is not listed as transfer');

  const shown = await runTl(['runs', 'show', id, '--json'], env);
  const show = JSON.parse(shown.stdout) as { step: string; config: Record<string, unknown> };
  assert.equal(show.step, 'done');
  assert.equal(show.config.pipeline, 'lab-cnn');
});

test('activities carry a summary a person can read', async () => {
  const history = await client.workflow.getHandle(id).fetchHistory();
  const summaries = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => (e.userMetadata?.summary?.data ? Buffer.from(e.userMetadata.summary.data).toString('utf8') : ''));
  assert.equal(summaries.length, 4);
  assert.match(summaries[1]!, /train the lab CNN: 1 epoch\(s\), batch 64, 500 images/);
  assert.match(summaries[3]!, /compare with the champion of \S+ and promote if better by more than 0\.005/);
});

test('runs list: a bad filter value is a usage error naming it', async () => {
  const r = await runTl(['runs', 'list', '--status', 'sleeping'], env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tl: option '--status <status>' argument 'sleeping' is invalid/);
  const s = await runTl(['runs', 'list', '--schedule', 'a"b'], env);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /^tl: TlSchedule filter "a\\"b" is invalid/);
});
