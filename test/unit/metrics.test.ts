import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, confusionMatrix } from '../../lib/metrics';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: expected ${expected}, got ${actual}`);

test('confusionMatrix counts [true][predicted]', () => {
  assert.deepEqual(confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3), [
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 2],
  ]);
});

test('confusionMatrix accepts typed arrays and empty input', () => {
  assert.deepEqual(confusionMatrix(new Uint8Array([1, 0]), new Int32Array([1, 1]), 2), [
    [0, 1],
    [0, 1],
  ]);
  assert.deepEqual(confusionMatrix([], [], 2), [
    [0, 0],
    [0, 0],
  ]);
});

test('hand-computed case with a class never predicted', () => {
  // confusion rows: A [2,1,0], B [0,2,0], C [1,1,0]
  const m = classificationMetrics([0, 0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 1, 0, 1], ['A', 'B', 'C']);
  assert.equal(m.count, 7);
  close(m.accuracy, 4 / 7, 'accuracy');
  const [a, b, c] = m.perClass;
  assert.equal(a.className, 'A');
  close(a.precision, 2 / 3, 'A precision');
  close(a.recall, 2 / 3, 'A recall');
  close(a.f1, 2 / 3, 'A f1');
  assert.equal(a.support, 3);
  close(b.precision, 0.5, 'B precision');
  close(b.recall, 1, 'B recall');
  close(b.f1, 2 / 3, 'B f1');
  assert.equal(b.support, 2);
  // C: never predicted, so precision is 0/0 -> 0, and F1 0.
  assert.deepEqual(c, { className: 'C', precision: 0, recall: 0, f1: 0, support: 2 });
  close(m.macroF1, 4 / 9, 'macroF1');
  assert.deepEqual(m.confusion, [
    [2, 1, 0],
    [0, 2, 0],
    [1, 1, 0],
  ]);
});

test('perfect predictions', () => {
  const labels = [0, 1, 2, 2, 1, 0, 0];
  const m = classificationMetrics(labels, labels, ['x', 'y', 'z']);
  assert.equal(m.accuracy, 1);
  assert.equal(m.macroF1, 1);
  for (const c of m.perClass) assert.deepEqual([c.precision, c.recall, c.f1], [1, 1, 1]);
  assert.deepEqual(m.perClass.map((c) => c.support), [3, 2, 2]);
});

test('all wrong predictions give zeros, not NaN', () => {
  const m = classificationMetrics([0, 1, 0], [1, 0, 1], ['x', 'y']);
  assert.equal(m.accuracy, 0);
  assert.equal(m.macroF1, 0);
  for (const c of m.perClass) assert.deepEqual([c.precision, c.recall, c.f1], [0, 0, 0]);
});

test('classes absent from both label sets are reported but left out of macro F1', () => {
  const m = classificationMetrics([0, 1], [0, 1], ['x', 'y', 'unused']);
  assert.deepEqual(m.perClass[2], { className: 'unused', precision: 0, recall: 0, f1: 0, support: 0 });
  assert.equal(m.macroF1, 1);
});

test('a class predicted but with no support counts in macro F1 as 0', () => {
  // class 0: P=1, R=1/2, F1=2/3; class 2: P=0/1, R=0/0 -> 0, F1=0; class 1 absent.
  const m = classificationMetrics([0, 0], [0, 2], ['x', 'y', 'z']);
  close(m.perClass[0].f1, 2 / 3, 'x f1');
  assert.deepEqual(m.perClass[2], { className: 'z', precision: 0, recall: 0, f1: 0, support: 0 });
  close(m.macroF1, 1 / 3, 'macroF1');
});

test('input validation names the problem', () => {
  assert.throws(() => confusionMatrix([0, 1], [0], 2), /trueLabels has 2 entries but predicted has 1/);
  assert.throws(() => confusionMatrix([0, 2], [0, 1], 2), /trueLabels\[1\] = 2 is not a class index in \[0, 1\]/);
  assert.throws(() => confusionMatrix([0, 1], [-1, 1], 2), /predicted\[0\] = -1/);
  assert.throws(() => confusionMatrix([0.5], [0], 2), /trueLabels\[0\] = 0.5/);
  assert.throws(() => confusionMatrix([NaN], [0], 2), /trueLabels\[0\] = NaN/);
  assert.throws(() => confusionMatrix([], [], 0), /numClasses must be a positive integer/);
  assert.throws(() => classificationMetrics([], [], ['a']), /no samples/);
  assert.throws(() => classificationMetrics([0], [0], []), /classNames is empty/);
  assert.throws(() => classificationMetrics([0, 3], [0, 0], ['a', 'b']), /trueLabels\[1\] = 3/);
});
