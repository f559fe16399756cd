// The logistic-regression head fitted from chunks (FeatureRows) against the in-memory fit:
// the same objective, so the same λ and weights; and no tensors left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fitLogisticRegression, type LogisticRegressionModel } from '../../lib/models/logistic-regression';
import type { FeatureRows } from '../../lib/data/feature-rows';

/** Seeded standard normals (Box–Muller over an LCG). */
function normals(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** k overlapping Gaussian blobs in dim features with unequal scales and offsets. */
function blobs(n: number, k: number, dim: number, seed: number) {
  const randn = normals(seed);
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < dim; j++) x[i * dim + j] = (1 + j) * ((j % k === y[i] ? 1.2 : 0) + randn()) + 5 * j;
  }
  return { x, y };
}

/** The rows in chunks of the given sizes (the last size repeats), counting the tensors alive at each chunk. */
function chunked(split: { x: Float32Array; y: Uint8Array }, dim: number, sizes: number[], tensorsAtChunk: number[] = []): FeatureRows {
  const count = split.y.length;
  return {
    count,
    async forEachChunk(visit) {
      for (let start = 0, c = 0; start < count; c++) {
        const rows = Math.min(sizes[Math.min(c, sizes.length - 1)], count - start);
        tensorsAtChunk.push(tf.memory().numTensors);
        // Copies, as a source reading from the store would hand over.
        await visit(split.x.slice(start * dim, (start + rows) * dim), split.y.slice(start, start + rows), rows);
        start += rows;
      }
    },
  };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => Math.max(s, Math.abs(v - b[i])), 0);
const centred = (b: Float32Array) => {
  const mean = b.reduce((s, v) => s + v, 0) / b.length;
  return b.map((v) => v - mean);
};

function assertSameFit(chunkedFit: LogisticRegressionModel, inMemory: LogisticRegressionModel) {
  assert.equal(chunkedFit.l2, inMemory.l2);
  assert.ok(maxAbsDiff(chunkedFit.mean, inMemory.mean) < 1e-5, `mean: ${maxAbsDiff(chunkedFit.mean, inMemory.mean)}`);
  assert.ok(maxAbsDiff(chunkedFit.std, inMemory.std) < 1e-5, `std: ${maxAbsDiff(chunkedFit.std, inMemory.std)}`);
  assert.ok(maxAbsDiff(chunkedFit.weights, inMemory.weights) < 1e-4, `weights: ${maxAbsDiff(chunkedFit.weights, inMemory.weights)}`);
  assert.ok(maxAbsDiff(centred(chunkedFit.bias), centred(inMemory.bias)) < 1e-4, 'bias (centred)');
  assert.equal(chunkedFit.valAccuracy, inMemory.valAccuracy);
  assert.ok(Math.abs(chunkedFit.valLoss - inMemory.valLoss) < 1e-5);
  chunkedFit.grid.forEach((g, i) => {
    assert.equal(g.l2, inMemory.grid[i].l2);
    assert.ok(Math.abs(g.valLoss - inMemory.grid[i].valLoss) < 1e-4, `λ=${g.l2}: ${g.valLoss} vs ${inMemory.grid[i].valLoss}`);
  });
}

test('a fit from uneven chunks is the in-memory fit: same λ, weights, validation scores', async () => {
  await tf.setBackend('cpu');
  const dim = 6;
  const k = 3;
  const train = blobs(700, k, dim, 3);
  const val = blobs(250, k, dim, 4);
  const inMemory = await fitLogisticRegression({ train, val, dim, numClasses: k }, { seed: 1 });
  const fromChunks = await fitLogisticRegression(
    { train: chunked(train, dim, [1, 37, 300, 5, 90]), val: chunked(val, dim, [100, 7]), dim, numClasses: k },
    { seed: 1 },
  );
  assertSameFit(fromChunks, inMemory);
  // Not trivially so: the grid's λs give different heads here.
  assert.ok(new Set(inMemory.grid.map((g) => g.valLoss.toFixed(4))).size > 1, JSON.stringify(inMemory.grid));
});

test('a streamed fit holds one chunk of tensors at a time and leaves none behind', async () => {
  await tf.setBackend('cpu');
  const dim = 5;
  const k = 2;
  const train = blobs(400, k, dim, 7);
  const val = blobs(100, k, dim, 8);
  const before = tf.memory().numTensors;
  const seen: number[] = [];
  await fitLogisticRegression({ train: chunked(train, dim, [13], seen), val: chunked(val, dim, [9], seen), dim, numClasses: k }, { seed: 1, l2Grid: [1e-2, 1] });
  assert.equal(tf.memory().numTensors, before, 'tensors after the fit');
  assert.ok(seen.length > 31 * 10, `${seen.length} chunks visited`);
  // Between chunks only the parameters (W, b) and each split's mean and std are alive: no chunk's tensors pile up.
  assert.ok(Math.max(...seen) - before <= 6, `at most ${Math.max(...seen) - before} tensors alive between chunks`);

  await fitLogisticRegression({ train, val, dim, numClasses: k }, { seed: 1, l2Grid: [1e-2, 1] });
  assert.equal(tf.memory().numTensors, before, 'tensors after an in-memory fit');
});

test('a source that yields other than its count, or a bad label in a later chunk, is refused', async () => {
  await tf.setBackend('cpu');
  const dim = 2;
  const train = blobs(40, 2, dim, 1);
  const before = tf.memory().numTensors;
  const short: FeatureRows = { ...chunked(train, dim, [10]), count: 41 };
  await assert.rejects(fitLogisticRegression({ train: short, val: train, dim, numClasses: 2 }, { seed: 1 }), /train source yielded 40 rows, not its count of 41/);
  const bad = { x: train.x, y: train.y.slice() };
  bad.y[33] = 2;
  await assert.rejects(fitLogisticRegression({ train, val: chunked(bad, dim, [10]), dim, numClasses: 2 }, { seed: 1 }), /val\.y\[33\] = 2/);
  assert.equal(tf.memory().numTensors, before);
});
