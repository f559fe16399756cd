// Softmax regression against a float64 Newton solution of the same penalised objective,
// the choice of L2 on validation data, and the exported Layers head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  fitLogisticRegression,
  predictProbabilities,
  toLayersModel,
  type LogisticRegressionModel,
} from '../../lib/models/logistic-regression';

/** Seeded standard normals (Box–Muller over an LCG). */
function normals(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Overlapping Gaussian blobs: class c centred at centres[c], with unequal feature scales. */
function blobs(n: number, centres: number[][], seed: number, scales: number[]) {
  const randn = normals(seed);
  const dim = centres[0].length;
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % centres.length;
    y[i] = c;
    for (let j = 0; j < dim; j++) x[i * dim + j] = scales[j] * (centres[c][j] + randn()) + 3 * j;
  }
  return { x, y };
}

/** Standardised rows in float64, as the model sees them. */
function standardised(x: Float32Array, m: LogisticRegressionModel): Float64Array[] {
  const dim = m.mean.length;
  return Array.from({ length: x.length / dim }, (_, i) => Float64Array.from({ length: dim }, (_, j) => (x[i * dim + j] - m.mean[j]) / m.std[j]));
}

function softmax64(z: Float64Array, w: ArrayLike<number>, b: ArrayLike<number>, k: number): Float64Array {
  const logits = Float64Array.from({ length: k }, (_, c) => z.reduce((s, v, j) => s + v * w[j * k + c], b[c]));
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / sum);
}

/** Gradient of (1/n) Σ CE + (λ/2)‖W‖² in float64; parameters ordered W (row-major dim×k), then b. */
function gradient64(z: Float64Array[], y: Uint8Array, w: ArrayLike<number>, b: ArrayLike<number>, k: number, l2: number): Float64Array {
  const dim = z[0].length;
  const g = new Float64Array((dim + 1) * k);
  z.forEach((zi, i) => {
    const p = softmax64(zi, w, b, k);
    for (let c = 0; c < k; c++) {
      const d = (p[c] - (y[i] === c ? 1 : 0)) / z.length;
      for (let j = 0; j < dim; j++) g[j * k + c] += d * zi[j];
      g[dim * k + c] += d;
    }
  });
  for (let j = 0; j < dim * k; j++) g[j] += l2 * w[j];
  return g;
}

/** Newton's method in float64 on the same objective; the bias comes back centred (it is unique only up to a constant). */
function newton(z: Float64Array[], y: Uint8Array, k: number, l2: number): { w: Float64Array; b: Float64Array } {
  const dim = z[0].length;
  const size = (dim + 1) * k;
  const theta = new Float64Array(size);
  for (let iter = 0; iter < 100; iter++) {
    const w = theta.subarray(0, dim * k);
    const b = theta.subarray(dim * k);
    const g = gradient64(z, y, w, b, k, l2);
    if (Math.max(...g.map(Math.abs)) < 1e-13) break;
    // H[(j,c),(l,m)] = (1/n) Σ x̃_j x̃_l (p_c δ_cm − p_c p_m) + λ δ (W only), x̃ = [z, 1].
    const h = Array.from({ length: size }, () => new Float64Array(size));
    for (const [i, zi] of z.entries()) {
      const p = softmax64(zi, w, b, k);
      const xt = [...zi, 1];
      for (let j = 0; j <= dim; j++) for (let c = 0; c < k; c++) for (let l = 0; l <= dim; l++) for (let m = 0; m < k; m++) {
        h[j * k + c][l * k + m] += (xt[j] * xt[l] * p[c] * ((c === m ? 1 : 0) - p[m])) / z.length;
      }
      void i;
    }
    for (let q = 0; q < size; q++) h[q][q] += (q < dim * k ? l2 : 0) + 1e-10; // the bias direction Σ b is flat
    const step = solve(h, g.map((v) => -v));
    for (let q = 0; q < size; q++) theta[q] += step[q];
  }
  const w = theta.slice(0, dim * k);
  const b = theta.slice(dim * k);
  const mean = b.reduce((a, v) => a + v, 0) / k;
  return { w, b: b.map((v) => v - mean) };
}

function solve(a: Float64Array[], rhs: Float64Array): Float64Array {
  const n = rhs.length;
  const m = a.map((row, i) => [...row, rhs[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return Float64Array.from({ length: n }, (_, i) => m[i][n] / m[i][i]);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => Math.max(s, Math.abs(v - b[i])), 0);

for (const { k, centres, l2 } of [
  { k: 2, centres: [[0, 0], [1.5, 1]], l2: 1e-2 },
  { k: 3, centres: [[0, 0, 0], [1.5, 0.5, 0], [0, 1.5, 1]], l2: 1e-1 },
]) {
  test(`${k} classes: the solution is the penalised optimum (zero gradient, Newton's weights)`, async () => {
    await tf.setBackend('cpu');
    const dim = centres[0].length;
    const scales = [1, 10, 0.1].slice(0, dim); // standardisation must undo these
    const train = blobs(90, centres, 11 * k, scales);
    const val = blobs(60, centres, 13 * k, scales);
    const model = await fitLogisticRegression({ train, val, dim, numClasses: k }, { l2Grid: [l2], seed: 1 });
    assert.equal(model.l2, l2);
    assert.equal(model.weights.length, dim * k);
    assert.ok(model.epochs > 0 && model.epochs < 300, `converged in ${model.epochs} iterations`);

    const z = standardised(train.x, model);
    const g = gradient64(z, train.y, model.weights, model.bias, k, l2);
    assert.ok(Math.max(...g.map(Math.abs)) < 2e-5, `gradient at the solution: ${Math.max(...g.map(Math.abs))}`);

    const ref = newton(z, train.y, k, l2);
    assert.ok(maxAbsDiff(model.weights, ref.w) < 1e-3, `weights vs Newton: ${maxAbsDiff(model.weights, ref.w)}`);
    const meanB = model.bias.reduce((a, v) => a + v, 0) / k;
    assert.ok(maxAbsDiff(model.bias.map((v) => v - meanB), ref.b) < 1e-3, 'bias (centred) vs Newton');

    // Probabilities: predictProbabilities, the folded Layers head and Newton's agree.
    const probs = predictProbabilities(model, val.x);
    const newtonProbs = standardised(val.x, model).flatMap((zi) => [...softmax64(zi, ref.w, ref.b, k)]);
    assert.ok(maxAbsDiff(probs, newtonProbs) < 1e-4);
    const head = toLayersModel(model);
    const layerProbs = tf.tidy(() => (head.predict(tf.tensor2d(val.x, [val.y.length, dim])) as tf.Tensor).dataSync());
    assert.ok(maxAbsDiff(layerProbs, probs) < 1e-5, `folded head vs predictProbabilities: ${maxAbsDiff(layerProbs, probs)}`);
    head.dispose();

    // valLoss / valAccuracy are those of the returned model.
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < val.y.length; i++) {
      const p = probs.subarray(i * k, (i + 1) * k);
      loss -= Math.log(p[val.y[i]]);
      if (p.indexOf(Math.max(...p)) === val.y[i]) correct++;
    }
    assert.ok(Math.abs(model.valLoss - loss / val.y.length) < 1e-4);
    assert.equal(model.valAccuracy, correct / val.y.length);
  });
}

test('the grid picks a strong penalty where a weak one overfits', async () => {
  await tf.setBackend('cpu');
  // 40 examples, 30 features of which only the first carries the class: separable by noise.
  const dim = 30;
  const make = (n: number, seed: number) => {
    const randn = normals(seed);
    const x = new Float32Array(n * dim);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      for (let j = 0; j < dim; j++) x[i * dim + j] = randn() + (j === 0 ? (y[i] ? 0.8 : -0.8) : 0);
    }
    return { x, y };
  };
  const model = await fitLogisticRegression({ train: make(40, 5), val: make(400, 6), dim, numClasses: 2 }, { seed: 1 });
  assert.deepEqual(model.grid.map((g) => g.l2), [1e-4, 1e-3, 1e-2, 1e-1, 1]);
  const weakest = model.grid[0];
  const chosen = model.grid.find((g) => g.l2 === model.l2)!;
  assert.ok(model.l2 >= 1e-1, `chose λ=${model.l2}: ${JSON.stringify(model.grid)}`);
  assert.equal(chosen.valLoss, Math.min(...model.grid.map((g) => g.valLoss)));
  assert.ok(weakest.valLoss > 2 * chosen.valLoss, `weak penalty overfits: ${weakest.valLoss} vs ${chosen.valLoss}`);
  assert.ok(chosen.valAccuracy >= weakest.valAccuracy);
  assert.equal(model.valLoss, chosen.valLoss);
});

test('constant features are left alone (std 1) and bad input is refused with a reason', async () => {
  await tf.setBackend('cpu');
  const x = Float32Array.from([0, 5, 1, 5, 2, 5, 3, 5]); // second feature constant
  const y = Uint8Array.from([0, 0, 1, 1]);
  const model = await fitLogisticRegression({ train: { x, y }, val: { x, y }, dim: 2, numClasses: 2 }, { seed: 1, l2Grid: [0.1] });
  assert.equal(model.std[1], 1);
  assert.ok(model.valAccuracy === 1);
  const data = { train: { x, y }, val: { x, y }, dim: 2, numClasses: 2 };
  await assert.rejects(fitLogisticRegression({ ...data, train: { x, y: Uint8Array.from([0, 0, 1, 2]) } }, { seed: 1 }), /train\.y\[3\] = 2/);
  await assert.rejects(fitLogisticRegression({ ...data, val: { x: x.subarray(1), y } }, { seed: 1 }), /val\.x has 7 values/);
  await assert.rejects(fitLogisticRegression({ ...data, numClasses: 1 }, { seed: 1 }), /at least 2 classes/);
  await assert.rejects(fitLogisticRegression(data, { seed: 1, l2Grid: [] }), /l2Grid/);
});
