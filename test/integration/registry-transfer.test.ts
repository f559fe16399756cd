// Champion/challenger for transfer models: the champion is loaded and scored the way
// `tl predict` loads it (preprocessing from the model's metadata); a model with other class
// names is not comparable and needs --force by hand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT, runTl, startWorker, testConfig, testEnv, testStore, type WorkerProcess } from './harness';
import type { LabCnnRunResult, TransferRunResult } from '../../contracts';
import { registryKeys } from '../../lib/store/registry';
import type { ModelDetail } from '../../cli/models';

const DATA = path.resolve(REPO_ROOT, '../shared/data/datasets/hymenoptera_data');
const BACKBONE = path.resolve(REPO_ROOT, '../shared/data/models/mobilenet_v1_0.25_224');
const skip = fs.existsSync(DATA) && fs.existsSync(BACKBONE) ? false : 'needs ../shared/data (hymenoptera_data and mobilenet_v1_0.25_224)';

const env = testEnv();
const store = testStore(testConfig(env));
const suffix = randomBytes(4).toString('hex');
const name = `test-transfer-${suffix}`;
let worker: WorkerProcess | undefined;

before(async () => {
  if (!skip) worker = await startWorker(env);
});

after(async () => {
  await worker?.stop();
  for (const key of await store.list(`${registryKeys(name).prefix}/`)) await store.delete(key);
});

const tlJson = async <T>(args: string[]): Promise<T> => {
  const r = await runTl([...args, '--json'], env);
  assert.equal(r.code, 0, `tl ${args.join(' ')}\n${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
};

test('transfer champion scored like tl predict loads it; other class names are not comparable', { skip }, async () => {
  const transfer = ['run', 'transfer', '--data', DATA, '--backbone', BACKBONE, '--method', 'features', '--model-name', name, '--wait'];
  const first = await tlJson<TransferRunResult>(transfer);
  assert.equal(first.promotion?.promoted, true, JSON.stringify(first.promotion));
  assert.equal(first.promotion?.heldOut.split, 'val');

  // Same data, same features, same head: equal accuracy, not better by the margin. The champion's
  // score proves it was loaded from S3 with its own preprocessing and scored on the same images.
  const second = await tlJson<TransferRunResult>(transfer);
  const d = second.promotion!;
  assert.equal(d.promoted, false, JSON.stringify(d));
  assert.equal(d.comparable, true);
  assert.equal(d.champion?.runId, first.runId);
  assert.equal(d.champion?.accuracy, first.heldOutAccuracy);
  assert.equal(d.challenger.accuracy, second.heldOutAccuracy);
  assert.match(d.reason, /not better by the 0\.50% margin/);

  // A lab CNN (ten clothing classes) cannot be judged against an ants-vs-bees champion.
  const lab = await tlJson<LabCnnRunResult>(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--model-name', name, '--wait']);
  assert.equal(lab.promotion?.promoted, false);
  assert.equal(lab.promotion?.comparable, false);
  assert.match(lab.promotion!.reason, /not comparable with champion .*: its classes \[ants, bees\] are not this held-out set's \[T-shirt\/top, /);

  const refused = await runTl(['models', 'promote', name, lab.runId], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /not comparable; pass --force to promote anyway\n$/);
  const forced = await tlJson<ModelDetail>(['models', 'promote', name, lab.runId, '--force', '--reason', 'switching to clothes']);
  assert.equal(forced.champion?.runId, lab.runId);
  assert.deepEqual(forced.history.map((h) => h.kind), ['promote', 'declined', 'declined', 'promote']);
});
