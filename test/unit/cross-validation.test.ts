// Stratified folds: disjoint, covering, class mix kept, seeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { complement, meanAndSpread, stratifiedFolds } from '../../lib/training/cross-validation';

// 70 of class 0, 30 of class 1 (the imbalance makes a non-stratified split visible).
const labels = Uint8Array.from({ length: 100 }, (_, i) => (i % 10 < 3 ? 1 : 0));

test('folds are disjoint, cover every example, and keep the class mix', () => {
  const folds = stratifiedFolds(labels, 5, 42);
  assert.equal(folds.length, 5);
  const all = folds.flatMap((f) => Array.from(f)).sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i));
  for (const f of folds) {
    assert.equal(f.length, 20);
    assert.equal(Array.from(f).filter((i) => labels[i] === 1).length, 6, 'each fold has 30 % of class 1');
  }
  assert.equal(complement(folds, 2).length, 80);
  assert.ok(!Array.from(complement(folds, 2)).some((i) => folds[2].includes(i)));
});

test('the same seed gives the same folds, another seed others', () => {
  assert.deepEqual(stratifiedFolds(labels, 5, 7), stratifiedFolds(labels, 5, 7));
  assert.notDeepEqual(stratifiedFolds(labels, 5, 7), stratifiedFolds(labels, 5, 8));
});

test('uneven sizes differ by at most one; bad k is refused', () => {
  const sizes = stratifiedFolds(labels.subarray(0, 23), 5, 1).map((f) => f.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  assert.throws(() => stratifiedFolds(labels, 1, 1), /k must be an integer ≥ 2/);
  assert.throws(() => stratifiedFolds(labels.subarray(0, 3), 5, 1), /3 examples cannot make 5 folds/);
});

test('mean and sample spread', () => {
  const { mean, spread } = meanAndSpread([0.9, 0.92, 0.94]);
  assert.ok(Math.abs(mean - 0.92) < 1e-12);
  assert.ok(Math.abs(spread - 0.02) < 1e-12);
});
