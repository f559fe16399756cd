// Multinomial logistic (softmax) regression on standardised features: the "feature
// extraction" head. For each L2 strength λ in a small grid we minimise
//
//   f(W, b) = (1/n) Σᵢ −log softmax(zᵢ W + b)[yᵢ] + (λ/2) ‖W‖²      (z = (x − mean) / std)
//
// full-batch with L-BFGS (the problem is smooth and convex, so a quasi-Newton method gets
// to the optimum in tens of passes where SGD/Adam would need tuning and many epochs), and
// keep the λ with the lowest validation log-loss. Loss and gradient are computed with tfjs
// (the matmuls are the cost); the L-BFGS bookkeeping is float64 JS over the small
// parameter vector. The bias is not penalised. The data may come a chunk at a time
// (FeatureRows): every sum is accumulated over chunks, so the objective is still the exact
// full-batch one and a split larger than memory is fitted the same way.
import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../tf/event-loop';
import { inMemoryRows, type FeatureRows } from '../data/feature-rows';
import { standardise, standardisationOf, standardisedPasses, type StandardisedPasses } from './standardised-chunks';

export const DEFAULT_L2_GRID: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1];

export interface LabelledFeatures {
  /** n × dim, row-major. */
  x: Float32Array;
  y: Uint8Array;
}

export interface LogisticRegressionData {
  /** In memory, or read a chunk per step (FeatureRows) when the split does not fit in memory. */
  train: LabelledFeatures | FeatureRows;
  val: LabelledFeatures | FeatureRows;
  dim: number;
  numClasses: number;
}

export interface LogisticRegressionOptions {
  l2Grid?: number[];
  /** Accepted for symmetry with the stochastic trainers: this solver (zeros, full batch) is deterministic. */
  seed: number;
  /** Most L-BFGS iterations per λ (each is one or a few full passes over train). Default 300. */
  maxEpochs?: number;
  /** Stop after this many iterations in a row that lower the objective by < 1e-9 (relative). Default 10. */
  patience?: number;
}

export interface LogisticRegressionModel {
  /** dim × numClasses, row-major, applied to standardised features. */
  weights: Float32Array;
  bias: Float32Array;
  mean: Float32Array;
  std: Float32Array;
  l2: number;
  valAccuracy: number;
  valLoss: number;
  grid: { l2: number; valAccuracy: number; valLoss: number }[];
  /** L-BFGS iterations the chosen λ took. */
  epochs: number;
}

/** The objective's gradient is taken as zero below this (max-norm; float32 noise is ~1e-7). */
const GRADIENT_TOLERANCE = 1e-6;
const HISTORY = 10;

export async function fitLogisticRegression(data: LogisticRegressionData, opts: LogisticRegressionOptions): Promise<LogisticRegressionModel> {
  const { dim, numClasses: k } = data;
  const grid = [...(opts.l2Grid ?? DEFAULT_L2_GRID)];
  const maxIterations = opts.maxEpochs ?? 300;
  const patience = opts.patience ?? 10;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`logistic regression: dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(k) || k < 2) throw new Error(`logistic regression: needs at least 2 classes, got ${k}`);
  if (grid.length === 0 || grid.some((l) => !(l >= 0) || !Number.isFinite(l))) throw new Error(`logistic regression: l2Grid must be non-negative numbers, got ${JSON.stringify(grid)}`);
  const trainRows = asRows('train', data.train, dim);
  const valRows = asRows('val', data.val, dim);
  const trainChecks = chunkChecker('train', trainRows.count, dim, k);
  const scale = await standardisationOf(trainRows, dim, trainChecks.check);
  trainChecks.end();
  const valChecks = chunkChecker('val', valRows.count, dim, k);
  await valRows.forEachChunk(async (x, y, n) => valChecks.check(x, y, n));
  valChecks.end();

  // Splits given in memory are standardised once and stay on the device; streamed ones are re-read every pass.
  const train = await standardisedPasses(trainRows, dim, scale, isInMemory(data.train));
  let val: StandardisedPasses | undefined;
  try {
    val = await standardisedPasses(valRows, dim, scale, isInMemory(data.val));
    // Strongest penalty first, each fit warm-started from the previous: a regularisation path.
    const order = [...grid].sort((a, b) => b - a);
    let theta: Float64Array = new Float64Array((dim + 1) * k);
    const fits = new Map<number, { theta: Float64Array; iterations: number; valLoss: number; valAccuracy: number }>();
    for (const l2 of order) {
      const result = await minimiseLbfgs((t) => objective(train, l2, t, dim, k), theta, maxIterations, patience);
      theta = result.theta;
      const scores = await evaluate(val, theta, dim, k);
      fits.set(l2, { theta: theta.slice(), iterations: result.iterations, ...scores });
    }
    // Lowest validation log-loss (smoother than accuracy); ties go to the stronger penalty.
    let best = order[0];
    for (const l2 of order) if (fits.get(l2)!.valLoss < fits.get(best)!.valLoss - 1e-12) best = l2;
    const chosen = fits.get(best)!;
    return {
      weights: Float32Array.from(chosen.theta.subarray(0, dim * k)),
      bias: Float32Array.from(chosen.theta.subarray(dim * k)),
      mean: scale.mean,
      std: scale.std,
      l2: best,
      valAccuracy: chosen.valAccuracy,
      valLoss: chosen.valLoss,
      grid: grid.map((l2) => ({ l2, valAccuracy: fits.get(l2)!.valAccuracy, valLoss: fits.get(l2)!.valLoss })),
      epochs: chosen.iterations,
    };
  } finally {
    train.dispose();
    val?.dispose();
  }
}

const isInMemory = (split: LabelledFeatures | FeatureRows): split is LabelledFeatures => 'x' in split;

function asRows(name: string, split: LabelledFeatures | FeatureRows, dim: number): FeatureRows {
  const n = isInMemory(split) ? split.y.length : split.count;
  if (n === 0) throw new Error(`logistic regression: the ${name} split is empty`);
  if (!isInMemory(split)) return split;
  if (split.x.length !== n * dim) throw new Error(`logistic regression: ${name}.x has ${split.x.length} values, expected ${n} × ${dim}`);
  return inMemoryRows(split, dim);
}

/** Checks a split's chunks as one pass reads them (labels are classes, values finite); row indices count from the split's start. */
function chunkChecker(name: string, count: number, dim: number, k: number) {
  let seen = 0;
  return {
    check(x: Float32Array, y: Uint8Array, n: number): void {
      if (y.length !== n || x.length !== n * dim) throw new Error(`logistic regression: a ${name} chunk of ${n} rows has ${y.length} labels and ${x.length} values (dim ${dim})`);
      for (let i = 0; i < n; i++) if (y[i] >= k) throw new Error(`logistic regression: ${name}.y[${seen + i}] = ${y[i]} is not a class below ${k}`);
      for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new Error(`logistic regression: ${name}.x[${seen * dim + i}] is not finite`);
      seen += n;
    },
    /** A source that yields other than its count would silently change the objective's n. */
    end(): void {
      if (seen !== count) throw new Error(`logistic regression: the ${name} source yielded ${seen} rows, not its count of ${count}`);
    },
  };
}

const params = (theta: Float64Array, dim: number, k: number) => ({
  w: tf.tensor2d(Float32Array.from(theta.subarray(0, dim * k)), [dim, k]),
  b: tf.tensor1d(Float32Array.from(theta.subarray(dim * k))),
});

/**
 * The penalised objective and its gradient (analytic: Zᵀ(P − Y)/n + λW, mean(P − Y)), summed
 * chunk by chunk in float64 and divided by n at the end: the same full-batch objective
 * whatever the chunking. One read-back per chunk (a GPU backend pays per read).
 */
async function objective(train: StandardisedPasses, l2: number, theta: Float64Array, dim: number, k: number) {
  const size = dim * k;
  const sums = new Float64Array(1 + size + k); // cross-entropy, Zᵀ(P − Y), Σ(P − Y)
  const { w, b } = params(theta, dim, k);
  try {
    await train.forEach(async ({ z, y: labels }) => {
      const part = tf.tidy(() => {
        const y = tf.oneHot(labels, k).toFloat();
        const logp = tf.logSoftmax(tf.add(tf.matMul(z, w), b));
        const diff = tf.sub(tf.exp(logp), y);
        return tf.concat([tf.reshape(tf.neg(tf.sum(tf.mul(y, logp))), [1]), tf.reshape(tf.matMul(z, diff, true, false), [-1]), tf.sum(diff, 0)]);
      });
      try {
        const values = await part.data();
        for (let i = 0; i < sums.length; i++) sums[i] += values[i];
      } finally {
        part.dispose();
      }
    });
  } finally {
    tf.dispose([w, b]);
  }
  const n = train.count;
  const g = new Float64Array(theta.length);
  let squares = 0;
  for (let i = 0; i < size; i++) {
    const wi = Math.fround(theta[i]); // the float32 weight the matmuls used
    squares += wi * wi;
    g[i] = sums[1 + i] / n + l2 * wi;
  }
  for (let c = 0; c < k; c++) g[size + c] = sums[1 + size + c] / n;
  return { f: sums[0] / n + (l2 / 2) * squares, g };
}

// Read asynchronously: a GPU backend (webgpu) has no synchronous read in Node.
async function evaluate(val: StandardisedPasses, theta: Float64Array, dim: number, k: number) {
  const { w, b } = params(theta, dim, k);
  let loss = 0;
  let correct = 0;
  try {
    await val.forEach(async ({ z, labels }) => {
      const logp = tf.tidy(() => tf.logSoftmax(tf.add(tf.matMul(z, w), b)));
      try {
        const scored = scoreLogProbabilities(await logp.data(), labels, k);
        loss += scored.loss;
        correct += scored.correct;
      } finally {
        logp.dispose();
      }
    });
  } finally {
    tf.dispose([w, b]);
  }
  return { valLoss: loss / val.count, valAccuracy: correct / val.count };
}

function scoreLogProbabilities(logp: ArrayLike<number>, labels: Uint8Array, k: number) {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    loss -= logp[i * k + labels[i]];
    let arg = 0;
    for (let c = 1; c < k; c++) if (logp[i * k + c] > logp[i * k + arg]) arg = c;
    if (arg === labels[i]) correct++;
  }
  return { loss, correct };
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * L-BFGS (two-loop recursion, HISTORY pairs) with a backtracking Armijo line search. Stops
 * when the gradient vanishes, the line search finds no progress, or f stalls (changes by
 * < 1e-9 relative) for `patience` iterations in a row.
 */
async function minimiseLbfgs(
  fg: (theta: Float64Array) => Promise<{ f: number; g: Float64Array }>,
  start: Float64Array,
  maxIterations: number,
  patience: number,
): Promise<{ theta: Float64Array; iterations: number }> {
  let theta: Float64Array = start.slice();
  let { f, g } = await fg(theta);
  const s: Float64Array[] = [];
  const yv: Float64Array[] = [];
  let stalled = 0;
  let iterations = 0;
  while (iterations < maxIterations && maxAbs(g) > GRADIENT_TOLERANCE) {
    iterations++;
    let d = twoLoop(g, s, yv);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      s.length = yv.length = 0; // not a descent direction: forget the curvature pairs
      d = g.map((v) => -v);
      slope = dot(g, d);
    }
    // Without curvature pairs the direction is −g: start with a step of unit length.
    let step = s.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let next: { theta: Float64Array; f: number; g: Float64Array } | undefined;
    for (let tries = 0; tries < 40; tries++, step /= 2) {
      const candidate = theta.map((v, i) => v + step * d[i]);
      const r = await fg(candidate);
      // Near the optimum f changes by less than float32 can show; there a step that does
      // not raise f beyond that noise and shrinks the gradient is progress too.
      const withinNoise = r.f - f <= 1e-6 * Math.max(1, Math.abs(f)) && maxAbs(r.g) < maxAbs(g);
      if (Number.isFinite(r.f) && (r.f <= f + 1e-4 * step * slope || withinNoise)) {
        next = { theta: candidate, ...r };
        break;
      }
    }
    if (!next) break; // no decrease to be had at float32 resolution
    const sk = next.theta.map((v, i) => v - theta[i]);
    const yk = next.g.map((v, i) => v - g[i]);
    if (dot(sk, yk) > 1e-12 * dot(yk, yk)) {
      s.push(sk);
      yv.push(yk);
      if (s.length > HISTORY) {
        s.shift();
        yv.shift();
      }
    }
    stalled = f - next.f < 1e-9 * Math.max(1, Math.abs(f)) ? stalled + 1 : 0;
    ({ theta, f, g } = next);
    if (stalled >= patience) break;
    await yieldToEventLoop();
  }
  return { theta, iterations };
}

/** −H·g for the L-BFGS inverse-Hessian estimate H built from the (s, y) pairs. */
function twoLoop(g: Float64Array, s: Float64Array[], y: Float64Array[]): Float64Array {
  const q = g.slice();
  const alpha = new Float64Array(s.length);
  for (let i = s.length - 1; i >= 0; i--) {
    alpha[i] = dot(s[i], q) / dot(y[i], s[i]);
    for (let j = 0; j < q.length; j++) q[j] -= alpha[i] * y[i][j];
  }
  const last = s.length - 1;
  const gamma = last >= 0 ? dot(s[last], y[last]) / dot(y[last], y[last]) : 1;
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < s.length; i++) {
    const beta = dot(y[i], q) / dot(y[i], s[i]);
    for (let j = 0; j < q.length; j++) q[j] += s[i][j] * (alpha[i] - beta);
  }
  return q.map((v) => -v);
}

/** Class probabilities for raw (unstandardised) features x (n × dim): n × numClasses. */
export function predictProbabilities(model: LogisticRegressionModel, x: Float32Array): Float32Array {
  const dim = model.mean.length;
  const k = model.bias.length;
  const n = x.length / dim;
  if (!Number.isInteger(n)) throw new Error(`predictProbabilities: ${x.length} values is not a whole number of ${dim}-d rows`);
  const z = standardise(x, n, dim, model.mean, model.std);
  const probs = tf.tidy(() => tf.softmax(tf.add(tf.matMul(z, tf.tensor2d(model.weights, [dim, k])), tf.tensor1d(model.bias))));
  const out = probs.dataSync() as Float32Array;
  tf.dispose([z, probs]);
  return out;
}

/**
 * The head's weights on raw features, standardisation folded in:
 * W'[j,c] = W[j,c] / std[j],  b'[c] = b[c] − Σⱼ mean[j] · W'[j,c].
 */
export function foldedWeights(model: LogisticRegressionModel): { kernel: Float32Array; bias: Float32Array } {
  const dim = model.mean.length;
  const k = model.bias.length;
  const kernel = new Float32Array(dim * k);
  const bias = new Float64Array(model.bias);
  for (let j = 0; j < dim; j++) {
    for (let c = 0; c < k; c++) {
      const w = model.weights[j * k + c] / model.std[j];
      kernel[j * k + c] = w;
      bias[c] -= model.mean[j] * w;
    }
  }
  return { kernel, bias: Float32Array.from(bias) };
}

/** The head as a one-layer tfjs model ([null, dim] → softmax), to append to a backbone body and save. */
export function toLayersModel(model: LogisticRegressionModel, name = 'logistic_regression'): tf.LayersModel {
  const dim = model.mean.length;
  const k = model.bias.length;
  const dense = tf.layers.dense({ units: k, activation: 'softmax', inputShape: [dim], name: `${name}_dense` });
  const head = tf.sequential({ name, layers: [dense] });
  const { kernel, bias } = foldedWeights(model);
  tf.tidy(() => dense.setWeights([tf.tensor2d(kernel, [dim, k]), tf.tensor1d(bias)])); // setWeights copies
  return head;
}
