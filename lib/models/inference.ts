// Batched inference over a stored split: predictions, mean loss and accuracy.
import * as tf from '@tensorflow/tfjs';
import { asSplitRows, oneHot, type SplitData, type SplitRows } from '../data/dataset';
import { yieldToEventLoop } from '../tf/event-loop';

/** Most images per forward pass: small ones go through a thousand at a time (the lab CNN is twice as fast so)… */
const MAX_EVAL_BATCH = 1000;
/** …large ones as many as make this many bytes of float input: activations scale with it, and 1,000 224² images took 4 GB. */
const EVAL_INPUT_BYTES = 32 * 1024 ** 2;

/** Images per forward pass for a model's input size. */
export function evalBatchSize(model: tf.LayersModel): number {
  const [, h, w, c] = model.inputs[0].shape;
  const bytes = (h ?? 1) * (w ?? 1) * (c ?? 1) * 4;
  return Math.max(1, Math.min(MAX_EVAL_BATCH, Math.floor(EVAL_INPUT_BYTES / bytes)));
}

export interface SplitPredictions {
  loss: number;
  accuracy: number;
  labels: Uint8Array;
  predicted: Uint8Array;
  /** Probability the model gave its predicted class. */
  confidence: Float32Array;
  seconds: number;
  imagesPerSecond: number;
}

/** Turns n raw uint8 images into the model's input tensor. */
export type InputPreparer = (images: Uint8Array, n: number) => tf.Tensor;

/** The lab CNN's input: pixels scaled to [0, 1]. */
export const unitScale =
  (shape: [number, number, number]): InputPreparer =>
  (images, n) =>
    tf.tidy(() => tf.tensor4d(images, [n, ...shape], 'int32').toFloat().div(255));

/**
 * The model's output for a whole batch in one pass. LayersModel.predict would cut it into
 * batches of 32 (its default), which costs the lab CNN half its inference speed.
 */
export function predictBatch(model: tf.LayersModel, input: tf.Tensor): tf.Tensor {
  return model.predict(input, { batchSize: Math.max(1, input.shape[0] ?? 1) }) as tf.Tensor;
}

/**
 * Scores the given rows of a split. The rows are read in ascending order, so a streamed split is
 * read shard by shard, each batch's read overlapping the previous batch's forward pass; results
 * come back in the order of `indices`.
 */
export async function predictSplit(
  model: tf.LayersModel,
  data: SplitData | SplitRows,
  indices: Uint32Array,
  numClasses: number,
  prepare: InputPreparer = unitScale(data.imageShape),
  onProgress?: (done: number, total: number) => void,
  /** Probabilities for a prepared batch (default: one forward pass; e.g. predictWithTta). */
  forward: (model: tf.LayersModel, input: tf.Tensor) => tf.Tensor = predictBatch,
): Promise<SplitPredictions> {
  const started = Date.now();
  const rows = asSplitRows(data);
  const labels = new Uint8Array(indices.length);
  const predicted = new Uint8Array(indices.length);
  const confidence = new Float32Array(indices.length);
  const positions = ascendingPositions(indices);
  const batchSize = evalBatchSize(model);
  const batchRows = (start: number) => positions.subarray(start, Math.min(start + batchSize, indices.length)).map((p) => indices[p]);
  let lossSum = 0;
  let correct = 0;
  let next = indices.length > 0 ? readAhead(rows, batchRows(0)) : undefined;
  for (let start = 0; start < indices.length; start += batchSize) {
    const at = positions.subarray(start, Math.min(start + batchSize, indices.length));
    const batch = await next!;
    next = start + batchSize < indices.length ? readAhead(rows, batchRows(start + batchSize)) : undefined;
    const n = at.length;
    const input = prepare(batch.images, n);
    const held: tf.Tensor[] = [input];
    try {
      const [loss, argmax, top] = tf.tidy(() => {
        const probs = forward(model, input) as tf.Tensor2D;
        const y = tf.tensor2d(oneHot(batch.labels, numClasses), [n, numClasses]);
        return [tf.sum(tf.metrics.categoricalCrossentropy(y, probs)), probs.argMax(1), probs.max(1)];
      });
      held.push(loss, argmax, top);
      lossSum += (await loss.data())[0];
      const pred = await argmax.data();
      const conf = await top.data();
      for (let i = 0; i < n; i++) {
        labels[at[i]] = batch.labels[i];
        predicted[at[i]] = pred[i];
        confidence[at[i]] = conf[i];
        if (pred[i] === batch.labels[i]) correct++;
      }
    } finally {
      tf.dispose(held);
    }
    await yieldToEventLoop();
    onProgress?.(start + n, indices.length);
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    loss: lossSum / indices.length,
    accuracy: correct / indices.length,
    labels,
    predicted,
    confidence,
    seconds,
    imagesPerSecond: indices.length / Math.max(seconds, 1e-9),
  };
}

/** Starts reading a batch; a failure surfaces when it is awaited, not as an unhandled rejection meanwhile. */
function readAhead(rows: SplitRows, batch: Uint32Array): Promise<{ images: Uint8Array; labels: Uint8Array }> {
  const read = rows.gather(batch);
  read.catch(() => undefined);
  return read;
}

/** Positions of `indices` ordered by the row each names (already ascending: as they are). */
function ascendingPositions(indices: Uint32Array): Uint32Array {
  const positions = Uint32Array.from({ length: indices.length }, (_, i) => i);
  const sorted = indices.every((row, i) => i === 0 || indices[i - 1] <= row);
  return sorted ? positions : positions.sort((a, b) => indices[a] - indices[b]);
}

/** 0..n-1, for predicting a whole split. */
export function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}
