// Champion/challenger end to end: tl run lab-cnn → promotion step → tl models show/promote/rollback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { runTl, startWorker, testConfig, testEnv, testStore, type WorkerProcess } from './harness';
import type { LabCnnRunResult } from '../../contracts';
import { registryKeys, readChampionPointer } from '../../lib/store/registry';
import type { ModelDetail, ModelSummary } from '../../cli/models';

const env = testEnv();
const store = testStore(testConfig(env));
const suffix = randomBytes(4).toString('hex');
const name = `test-lab-${suffix}`;
const good = `test-registry-${suffix}-good`;
const worse = `test-registry-${suffix}-worse`;
let worker: WorkerProcess;

before(async () => {
  worker = await startWorker(env);
});

after(async () => {
  await worker?.stop();
  for (const key of await store.list(`${registryKeys(name).prefix}/`)) await store.delete(key);
});

const tl = async (args: string[], expectCode = 0) => {
  const r = await runTl(args, env);
  assert.equal(r.code, expectCode, `tl ${args.join(' ')}\n${r.stderr}${r.stdout}`);
  return r;
};
const tlJson = async <T>(args: string[]) => JSON.parse((await tl([...args, '--json'])).stdout) as T;

test('first run is promoted, a worse one is not, the history shows both, rollback brings the first back', async () => {
  const first = await tlJson<LabCnnRunResult>(['run', 'lab-cnn', '--limit', '2000', '--epochs', '1', '--model-name', name, '--id', good, '--wait']);
  assert.ok(first.promotion, 'the result carries the promotion decision');
  assert.equal(first.promotion.promoted, true);
  assert.equal(first.promotion.champion, null);
  assert.match(first.promotion.reason, /no champion yet/);
  assert.equal(first.promotion.heldOut.count, 10000);
  // The promotion step rescored the model on the same test split the evaluation used.
  assert.ok(Math.abs(first.promotion.challenger.accuracy - first.testAccuracy) < 1e-9);

  // 500 images at a learning rate 1,000 times smaller: far worse; shown in the plain output.
  const second = await tl(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--learning-rate', '0.000001', '--model-name', name, '--id', worse, '--wait']);
  assert.match(second.stdout, new RegExp(`not promoted; ${name} keeps its champion: accuracy [\\d.]+% vs champion's [\\d.]+%: not better by the 0\\.50% margin`));

  const shown = await tlJson<ModelDetail>(['models', 'show', name]);
  assert.equal(shown.champion?.runId, good);
  assert.equal(shown.champion?.promotedBy, os.userInfo().username, 'the CLI passes who asked as requestedBy');
  assert.deepEqual(shown.history.map((h) => [h.seq, h.kind, h.runId]), [
    [1, 'promote', good],
    [2, 'declined', worse],
  ]);
  assert.ok(shown.history[1].accuracy < shown.history[0].accuracy - 0.005);
  const pointer = await readChampionPointer(store, name);
  assert.equal(pointer?.seq, 2);
  assert.equal(pointer?.champion?.runId, good);

  // By hand: the worse run becomes champion, then rollback restores the first.
  const promoted = await tlJson<ModelDetail>(['models', 'promote', name, worse, '--reason', 'trying the small model']);
  assert.equal(promoted.champion?.runId, worse);
  assert.equal(promoted.champion?.reason, 'trying the small model');
  const rolled = await tlJson<ModelDetail>(['models', 'rollback', name, '--reason', 'small model too weak']);
  assert.equal(rolled.champion?.runId, good);
  assert.deepEqual(rolled.history.map((h) => h.kind), ['promote', 'declined', 'promote', 'rollback']);

  const text = await tl(['models', 'show', name]);
  assert.match(text.stdout, new RegExp(`champion: ${good} \\(lab-cnn\\) accuracy`));
  assert.match(text.stdout, /#4 \S+ rollback .* small model too weak/);
  const list = await tlJson<ModelSummary[]>(['models', 'list']);
  assert.equal(list.find((m) => m.name === name)?.champion, good);

  // Nothing left to roll back to, unknown names and runs: one line, usage exit code.
  const none = await tl(['models', 'rollback', name], 2);
  assert.match(none.stderr, new RegExp(`^tl: model ${name} has no earlier champion to roll back to\\n$`));
  const unknownRun = await tl(['models', 'promote', name, `no-such-run-${suffix}`], 2);
  assert.match(unknownRun.stderr, /^tl: run no-such-run-\w+ has no report: it does not exist or has not finished\n$/);
  const unknownModel = await tl(['models', 'show', `no-such-model-${suffix}`], 2);
  assert.match(unknownModel.stderr, /^tl: no model named "no-such-model-\w+" in the registry/);
  assert.equal((await tlJson<ModelDetail>(['models', 'show', name])).history.length, 4, 'refusals recorded nothing');
});

test('--no-promote skips the step, and a bad --model-name is refused before anything starts', async () => {
  const bad = await tl(['run', 'lab-cnn', '--model-name', 'a/b'], 2);
  assert.match(bad.stderr, /^tl: --model-name: model name "a\/b" is invalid/);
  const margin = await tl(['run', 'lab-cnn', '--promote-margin', '2'], 2);
  assert.match(margin.stderr, /^tl: --promote-margin "2" is invalid: expected a number from 0 to 1/);
  const skipped = await tlJson<LabCnnRunResult>(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--model-name', name, '--no-promote', '--wait']);
  assert.equal(skipped.promotion, undefined);
  assert.equal((await tlJson<ModelDetail>(['models', 'show', name])).history.length, 4);
});
