// `tl backbones …` on the real stack: a model stored once in S3 under its hash, its record
// validated when read back, and `--backbone <name>` resolved by a worker that has its own
// state directory and never sees the folder the model was added from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { REPO_ROOT, runTl, startWorker, temporalClient, testConfig, testEnv, testStore, type WorkerProcess, readJson } from './harness';
import { tempDir } from '../temp-dirs';
import { backboneKeys } from '../../lib/store/backbone-registry';
import { transferKeys } from '../../lib/transfer';
import type { TransferRunResult, TransferLearningInput } from '../../contracts';
import type { TransferReport } from '../../lib/report/transfer';
import type { BackboneView } from '../../cli/backbones';

const DATA = path.resolve(REPO_ROOT, '../shared/data/datasets/hymenoptera_data');
const MOBILENET = path.resolve(REPO_ROOT, '../shared/data/models/mobilenet_v1_0.25_224');
const available = fs.existsSync(DATA) && fs.existsSync(MOBILENET);
const skip = available ? false : 'needs ../shared/data (hymenoptera_data and mobilenet_v1_0.25_224)';

const env = testEnv();
const config = testConfig(env);
const store = testStore(config);
const suffix = randomBytes(4).toString('hex');
const name = `test-backbone-${suffix}`;
const other = `test-backbone-${suffix}-alias`;
const runName = `test-backbone-${suffix}-run`;
const schedule = `test-backbone-schedule-${suffix}`;
let worker: WorkerProcess | undefined;
let client: Client;

/** A copy of the MobileNet folder, with `scaling` recorded in its model.json when given. */
function copyOfMobilenet(scaling?: string): string {
  const dir = tempDir('tl-backbone-');
  for (const f of fs.readdirSync(MOBILENET)) fs.copyFileSync(path.join(MOBILENET, f), path.join(dir, f));
  if (scaling) {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    json.userDefinedMetadata = { scaling };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  }
  return dir;
}

const tl = async (args: string[], expectCode = 0) => {
  const r = await runTl(args, env);
  assert.equal(r.code, expectCode, `tl ${args.join(' ')}\n${r.stderr}${r.stdout}`);
  return r;
};
const tlJson = async <T>(args: string[]) => JSON.parse((await tl([...args, '--json'])).stdout) as T;

before(async () => {
  if (available) client = await temporalClient(config);
});

after(async () => {
  await worker?.stop('SIGKILL');
  await runTl(['schedule', 'delete', schedule], env);
  for (const n of [name, other, runName]) await runTl(['backbones', 'remove', n], env);
  await client?.connection.close();
});

test('add, list, show, remove; a same-model re-add is a no-op, another model under the name is refused', { skip }, async () => {
  const folder = copyOfMobilenet('minus1to1');
  const added = await tlJson<BackboneView & { created: boolean }>(['backbones', 'add', name, folder, '--license', 'Apache-2.0', '--notes', 'MobileNet V1 0.25']);
  assert.equal(added.created, true);
  assert.deepEqual(added.inputSize, [224, 224]);
  assert.equal(added.channels, 3);
  assert.equal(added.scaling, 'minus1to1');
  assert.equal(added.scalingFrom, 'model', 'read from userDefinedMetadata, not assumed');
  assert.equal(added.cutLayer, 'global_average_pooling2d_1');
  assert.equal(added.featureDim, 256);
  assert.ok(added.parameters > 400_000 && added.parameters < 600_000, `MobileNet V1 0.25 has about 0.47 M parameters, got ${added.parameters}`);
  assert.equal(added.license, 'Apache-2.0');
  assert.equal(added.url, `s3://${store.bucket}/backbones/models/${added.sha256}`);
  // Stored once, content-addressed: model.json plus its 55 weight shards.
  const stored = await store.list(`${backboneKeys.model(added.sha256)}/`);
  assert.equal(stored.length, 56);

  const again = await tlJson<BackboneView & { created: boolean }>(['backbones', 'add', name, folder]);
  assert.equal(again.created, false);
  assert.equal(again.addedAt, added.addedAt);
  // A second name for the same model shares the stored copy.
  const alias = await tlJson<BackboneView>(['backbones', 'add', other, folder, '--license', 'Apache-2.0']);
  assert.equal(alias.sha256, added.sha256);

  const different = copyOfMobilenet('zeroTo1');
  const refused = await tl(['backbones', 'add', name, different], 2);
  assert.match(refused.stderr, new RegExp(`^tl: backbone ${name} already exists as another model \\(sha256 ${added.sha256.slice(0, 12)}…`));
  const noScaling = await tl(['backbones', 'add', `${name}-x`, MOBILENET], 2);
  assert.match(noScaling.stderr, /does not record its input scaling \(userDefinedMetadata\.scaling\): pass --scaling minus1to1\|zeroTo1\|none/);
  const badName = await tl(['backbones', 'add', 'a/b', folder], 2);
  assert.match(badName.stderr, /^tl: backbone name "a\/b" is invalid/);
  const badSource = await tl(['backbones', 'add', `${name}-y`, path.join(folder, 'nothing')], 2);
  assert.match(badSource.stderr, /nothing\/model\.json: model\.json does not exist/);

  const list = await tlJson<BackboneView[]>(['backbones', 'list']);
  assert.deepEqual(list.filter((b) => b.name === name || b.name === other).map((b) => b.name), [name, other]);
  const text = await tl(['backbones', 'show', name]);
  assert.match(text.stdout, /input: +224×224×3, scaling minus1to1 \(from the model's metadata\)/);
  assert.match(text.stdout, /licence: +Apache-2\.0/);

  // Removing one name keeps the model the other still uses; removing the last deletes it.
  const first = await tlJson<{ modelDeleted: boolean }>(['backbones', 'remove', other]);
  assert.equal(first.modelDeleted, false);
  assert.equal((await store.list(`${backboneKeys.model(added.sha256)}/`)).length, 56);
  const unknown = await tl(['backbones', 'show', other], 2);
  assert.match(unknown.stderr, new RegExp(`^tl: no backbone named "${other}" \\(known: .*${name}`));
});

test('a record is validated when read back: a bad field is named', { skip }, async () => {
  const broken = `${name}-broken`;
  await store.putJson(backboneKeys.record(broken), { name: broken, sha256: 'not-a-hash' });
  try {
    const r = await tl(['backbones', 'show', broken], 1); // a stored record gone bad is no usage error
    assert.match(r.stderr, new RegExp(`backbone record backbones/names/${broken}\\.json is malformed: sha256: .*modelKey: `));
  } finally {
    await store.delete(backboneKeys.record(broken));
  }
});

test('--backbone <name>: a worker on another state dir resolves it from S3; schedules keep the name', { skip }, async () => {
  // The folder it was added from is gone before any worker reads it.
  const folder = copyOfMobilenet();
  await tl(['backbones', 'add', runName, folder, '--scaling', 'minus1to1', '--license', 'Apache-2.0']);
  fs.rmSync(folder, { recursive: true, force: true });
  const record = await tlJson<BackboneView>(['backbones', 'show', runName]);

  const elsewhere = tempDir('tl-other-state-');
  worker = await startWorker({
    ...env,
    TL_STATE_DIR: elsewhere,
    TL_WORK_DIR: path.join(elsewhere, 'work'),
    TL_S3_ACCESS_KEY: config.s3.accessKeyId,
    TL_S3_SECRET_KEY: config.s3.secretAccessKey,
  });
  const id = `test-backbone-run-${suffix}`;
  const result = await tlJson<TransferRunResult>(['run', 'transfer', '--data', DATA, '--backbone', runName, '--method', 'features', '--no-promote', '--id', id, '--wait']);
  assert.ok(result.heldOutAccuracy > 0.75, `features + LR on MobileNet V1 0.25: ${result.heldOutAccuracy}`);
  const report = await readJson<TransferReport>(store, transferKeys(id).reportJson);
  assert.equal(report.backbone.name, runName);
  assert.equal(report.backbone.source, record.url);
  assert.equal(report.backbone.sha256, record.sha256);
  assert.equal(report.backbone.cutLayer, record.cutLayer);

  const unknownRun = await tl(['run', 'transfer', '--data', DATA, '--backbone', `no-such-backbone-${suffix}`], 2);
  assert.match(unknownRun.stderr, new RegExp(`^tl: --backbone: no backbone named "no-such-backbone-${suffix}"`));

  await tl(['schedule', 'create', schedule, '--every', '24h', '--paused', '--pipeline', 'transfer', '--data', DATA, '--backbone', runName, '--json']);
  const description = await client.schedule.getHandle(schedule).describe();
  assert.equal(description.action.type, 'startWorkflow');
  if (description.action.type !== 'startWorkflow') return;
  const [input] = description.action.args as [TransferLearningInput];
  assert.equal(input.options.backbone, runName, 'the schedule keeps the name; each run resolves it on a worker');
  const unknownSchedule = await tl(['schedule', 'create', `${schedule}-x`, '--every', '24h', '--pipeline', 'transfer', '--data', DATA, '--backbone', `no-such-backbone-${suffix}`], 2);
  assert.match(unknownSchedule.stderr, /^tl: --backbone: no backbone named/);
});
