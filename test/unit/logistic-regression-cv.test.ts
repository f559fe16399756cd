// λ by stratified k-fold cross-validation: every fold scored, means match the folds, and the
// chosen λ is the one with the lowest mean fold loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossValidateL2 } from '../../lib/models/logistic-regression-cv';

/** Few noisy examples in many dimensions: heavy overfitting without a penalty. */
function noisyFeatures(n: number, dim: number, seed: number) {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < dim; j++) x[i * dim + j] = rand() * 3 + (j < 2 ? (y[i] ? 1 : -1) : 0);
  }
  return { count: n, dim, x, y };
}

test('five folds, each λ scored on each; the lowest mean loss wins', async () => {
  const train = noisyFeatures(120, 40, 3);
  const grid = [1e-4, 1e-2, 1];
  const cv = await crossValidateL2(train, 2, { folds: 5, seed: 42, l2Grid: grid });
  assert.deepEqual(cv.grid.map((g) => g.l2), grid);
  for (const g of cv.grid) {
    assert.equal(g.foldAccuracies.length, 5);
    const mean = g.foldAccuracies.reduce((a, b) => a + b, 0) / 5;
    assert.ok(Math.abs(mean - g.valAccuracy) < 1e-12);
    assert.ok(g.spread >= 0 && Number.isFinite(g.spread));
  }
  const lowest = cv.grid.reduce((b, g) => (g.valLoss < b.valLoss ? g : b));
  assert.equal(cv.chosenL2, lowest.l2);
  assert.notEqual(cv.chosenL2, 1e-4, 'on 38 noise dimensions and 96 examples the weakest penalty overfits');
  // Seeded: the same folds and scores again.
  assert.deepEqual((await crossValidateL2(train, 2, { folds: 5, seed: 42, l2Grid: grid })).grid, cv.grid);
});
