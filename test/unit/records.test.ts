// Records read back from S3 and from heartbeats are checked against their schemas: a malformed
// one is a clear error naming the key and the field, never a cast that fails later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord, RecordFormatError } from '../../lib/store/store';
import { DATASET_FORMAT, manifestSchema, type DatasetManifest } from '../../lib/data/dataset';
import { championPointerSchema, registryEventSchema } from '../../lib/store/registry';
import { progressOfBeat } from '../../lib/progress';

const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const object = { key: 'datasets/x/shard-0.bin', sha256: 'a'.repeat(64), size: 784 };
const manifest: DatasetManifest = {
  format: DATASET_FORMAT,
  name: 'fashion-mnist',
  imageShape: [28, 28, 1],
  classNames: ['a', 'b'],
  source: { kind: 'dir', location: '/data', files: [] },
  splits: { train: { count: 1, classCounts: [1, 0], shards: [{ count: 1, images: object, labels: object }] } },
};

test('a valid manifest reads back equal', () => {
  assert.deepEqual(parseRecord('m.json', bytes(manifest), manifestSchema), manifest);
});

test('a manifest of another format names the key and the field', () => {
  assert.throws(
    () => parseRecord('datasets/x/manifests/ab.json', bytes({ ...manifest, format: 'tl.dataset/v0' }), manifestSchema),
    (err: Error) => err instanceof RecordFormatError && /^datasets\/x\/manifests\/ab\.json: not a valid tl dataset manifest \(tl\.dataset\/v1\): format: /.test(err.message),
  );
});

test('a shard without its labels object is caught before any shard is read', () => {
  const broken = { ...manifest, splits: { train: { count: 1, classCounts: [1, 0], shards: [{ count: 1, images: object }] } } };
  assert.throws(() => parseRecord('m.json', bytes(broken), manifestSchema), /splits\.train\.shards\.0\.labels/);
});

test('bytes that are not JSON say so', () => {
  assert.throws(() => parseRecord('runs/r/report.json', bytes('{"truncated'), manifestSchema), /: runs\/r\/report\.json: not valid JSON/);
});

test('registry events and champion pointers are checked field by field', () => {
  const entry = { runId: 'r1', pipeline: 'transfer', modelKey: 'runs/r1/model/model.json', classNames: ['a'], heldOut: { manifestKey: 'm', split: 'val', count: 3 }, metrics: { accuracy: 0.9, macroF1: 0.8 } };
  const event = { seq: 1, kind: 'promote', at: '2026-01-01T00:00:00Z', by: 'ci', reason: 'first', requestId: 'q', subject: entry, champion: entry };
  assert.deepEqual(parseRecord('e.json', bytes(event), registryEventSchema), event);
  assert.throws(() => parseRecord('e.json', bytes({ ...event, kind: 'promoted' }), registryEventSchema), /registry event: kind/);
  assert.throws(() => parseRecord('c.json', bytes({ name: 'm', seq: -1, champion: null }), championPointerSchema), /champion pointer: seq/);
});

test('heartbeat progress: the step is required, a malformed field is dropped, not the beat', () => {
  assert.deepEqual(progressOfBeat({ progress: { step: 'train', epoch: 2, epochs: 5, loss: null } }), { step: 'train', epoch: 2, epochs: 5, loss: undefined });
  assert.equal(progressOfBeat({ progress: { epoch: 2 } }), undefined);
  assert.equal(progressOfBeat('not a beat'), undefined);
  assert.equal(progressOfBeat(undefined), undefined);
});

test('a malformed record is bad input: retrying the activity cannot fix it', async () => {
  const { BadInputError } = await import('../../lib/errors');
  assert.ok(new RecordFormatError('k', 'x') instanceof BadInputError);
});
