import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatherBatch, seededPermutation, trainValidationSplit, sourceFingerprint } from '../../lib/data/dataset';
import { artifactKey } from '../../lib/store/store';

test('seeded permutations are reproducible and complete', () => {
  const a = seededPermutation(1000, 5);
  assert.deepEqual(a, seededPermutation(1000, 5));
  assert.notDeepEqual(a, seededPermutation(1000, 6));
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
});

test('train/validation split is disjoint, seeded and honours the limit', () => {
  const { train, validation } = trainValidationSplit(60000, { seed: 1, validationFraction: 0.1, limit: 2000 });
  assert.equal(train.length, 1800);
  assert.equal(validation.length, 200);
  const seen = new Set([...train, ...validation]);
  assert.equal(seen.size, 2000);
  assert.deepEqual(trainValidationSplit(60000, { seed: 1, validationFraction: 0.1, limit: 2000 }).validation, validation);
});

test('gatherBatch scales pixels and one-hot encodes labels', () => {
  const data = { count: 2, imageShape: [2, 2, 1] as [number, number, number], images: Uint8Array.from([0, 255, 51, 102, 1, 2, 3, 4]), labels: Uint8Array.from([3, 1]) };
  const batch = gatherBatch(data, [1, 0], 4);
  assert.deepEqual([...batch.x.subarray(4)], [...Float32Array.from([0, 1, 0.2, 0.4])]);
  assert.deepEqual([...batch.y], [0, 1, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...batch.labels], [1, 3]);
});

test('source fingerprint ignores order and changes with content', () => {
  const a = [{ name: 'a', sha256: '1' }, { name: 'b', sha256: '2' }];
  assert.equal(sourceFingerprint(a), sourceFingerprint([...a].reverse()));
  assert.notEqual(sourceFingerprint(a), sourceFingerprint([{ name: 'a', sha256: '1' }, { name: 'b', sha256: '3' }]));
});

test('S3 keys are built only from validated parts', () => {
  assert.equal(artifactKey('runs', 'lab-cnn-1', 'report.json'), 'runs/lab-cnn-1/report.json');
  for (const bad of ['../etc', 'a/../b', '', 'has space', 'a//b', '/abs', 'x\u0000y', '.hidden']) {
    assert.throws(() => artifactKey('runs', bad), /invalid S3 key part/, bad);
  }
});
