// The same run started twice with the same id and inputs: the second start is refused with one
// clear line, the first run completes, and the run's prefix holds one set of artifacts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { runTl, startWorker, temporalClient, testStore, type WorkerProcess } from '../integration/harness';
import { configOf, faultEnv } from './fault-stack';
import { labOptions, startLab } from './runs';
import { runKeys } from '../../contracts';

const env = faultEnv();
const config = configOf(env);
const workers: WorkerProcess[] = [];
let client: Client | undefined;

after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

test('a second start with the same id is refused while the first runs; one set of artifacts', async () => {
  client = await temporalClient(config);
  workers.push(await startWorker(env));
  const id = `faults-dup-${Date.now().toString(36)}`;
  const args = ['run', 'lab-cnn', '--limit', '1000', '--epochs', '2', '--seed', '3', '--id', id];
  const first = await runTl(args, env);
  assert.equal(first.code, 0, first.stderr);
  const second = await runTl(args, env);
  assert.equal(second.code, 2, `second start: exit ${second.code}\n${second.stdout}${second.stderr}`);
  assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`^tl: run ${id} already exists`));
  // The client API refuses too, whatever the inputs.
  await assert.rejects(startLab(client, config, id, labOptions({ limit: 1000, epochs: 2, seed: 3 })), WorkflowExecutionAlreadyStartedError);

  const result = await client.workflow.getHandle(id).result();
  assert.equal(result.runId, id);
  const executions = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = "${id}"` })) executions.push(w);
  assert.equal(executions.length, 1, 'one execution under this id');

  const keys = (await testStore(config).list(`runs/${id}/`)).sort();
  const k = runKeys(id);
  const expectedPrefixes = [`${k.checkpoint(1)}/`, `${k.checkpoint(2)}/`, `${k.model}/`];
  // Each model folder: model.json and one content-addressed weights file.
  for (const p of expectedPrefixes) assert.equal(keys.filter((key) => key.startsWith(p)).length, 2, `${p}: ${keys.join(', ')}`);
  assert.deepEqual(keys.filter((key) => key.startsWith(`runs/${id}/report/`)), [k.reportHtml, k.reportJson, k.reportMarkdown].sort());
  assert.equal(keys.length, 9, keys.join('\n'));
});
