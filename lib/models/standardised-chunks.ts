// A split's rows as standardised tensors, one chunk at a time, for the logistic-regression
// solver's passes. Rows given in memory are standardised once and stay resident (as fast as
// one big tensor); rows read from a FeatureRows source are rebuilt every pass and disposed
// after their chunk, so a pass holds one chunk's tensors whatever the split's size.
import * as tf from '@tensorflow/tfjs';
import type { FeatureRows } from '../data/feature-rows';

export interface StandardisedChunk {
  /** rows × dim, standardised. */
  z: tf.Tensor2D;
  /** The rows' labels, as an int32 tensor and as bytes. */
  y: tf.Tensor1D;
  labels: Uint8Array;
}

export interface StandardisedPasses {
  count: number;
  forEach(visit: (chunk: StandardisedChunk) => Promise<void>): Promise<void>;
  dispose(): void;
}

export interface Standardisation {
  mean: Float32Array;
  std: Float32Array;
}

export async function standardisedPasses(rows: FeatureRows, dim: number, scale: Standardisation, resident: boolean): Promise<StandardisedPasses> {
  if (!resident) {
    // Rebuilt every pass, so standardised on the device (a JS loop here costs as much as the matmuls).
    const mean = tf.tensor1d(scale.mean);
    const std = tf.tensor1d(scale.std);
    return {
      count: rows.count,
      forEach: (visit) =>
        rows.forEachChunk(async (x, labels, n) => {
          const chunk = {
            z: tf.tidy(() => tf.div(tf.sub(tf.tensor2d(x.subarray(0, n * dim), [n, dim]), mean), std) as tf.Tensor2D),
            y: tf.tensor1d(Int32Array.from(labels.subarray(0, n)), 'int32'),
            labels: labels.subarray(0, n),
          };
          try {
            await visit(chunk);
          } finally {
            tf.dispose([chunk.z, chunk.y]);
          }
        }),
      dispose: () => tf.dispose([mean, std]),
    };
  }
  const chunks: StandardisedChunk[] = [];
  try {
    await rows.forEachChunk(async (x, labels, n) => {
      chunks.push(toChunk(x, labels, n, dim, scale));
    });
  } catch (err) {
    tf.dispose(chunks.flatMap((c) => [c.z, c.y]));
    throw err;
  }
  return {
    count: rows.count,
    async forEach(visit) {
      for (const chunk of chunks) await visit(chunk);
    },
    dispose: () => tf.dispose(chunks.flatMap((c) => [c.z, c.y])),
  };
}

function toChunk(x: Float32Array, labels: Uint8Array, n: number, dim: number, scale: Standardisation): StandardisedChunk {
  // Labels are copied: the source may reuse its arrays for the next chunk.
  return { z: standardise(x, n, dim, scale.mean, scale.std), y: tf.tensor1d(Int32Array.from(labels.subarray(0, n)), 'int32'), labels: labels.slice(0, n) };
}

export function standardise(x: Float32Array, n: number, dim: number, mean: Float32Array, std: Float32Array): tf.Tensor2D {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = (x[i * dim + j] - mean[j]) / std[j];
  return tf.tensor2d(out, [n, dim]);
}

/**
 * Per-feature mean and (population) standard deviation over all chunks, in two float64 passes
 * (a one-pass sum of squares loses digits when the mean is large); constant features get std 1.
 * Each chunk is handed to check first, so a bad value fails the fit before any work is spent.
 */
export async function standardisationOf(rows: FeatureRows, dim: number, check: (x: Float32Array, y: Uint8Array, n: number) => void): Promise<Standardisation> {
  const sum = new Float64Array(dim);
  await rows.forEachChunk(async (x, y, n) => {
    check(x, y, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sum[j] += x[i * dim + j];
  });
  const mean = sum.map((s) => s / rows.count);
  const sq = new Float64Array(dim);
  await rows.forEachChunk(async (x, _y, n) => {
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sq[j] += (x[i * dim + j] - mean[j]) ** 2;
  });
  const std = sq.map((s) => Math.sqrt(s / rows.count)).map((s) => (s > 1e-6 ? s : 1));
  return { mean: Float32Array.from(mean), std: Float32Array.from(std) };
}
