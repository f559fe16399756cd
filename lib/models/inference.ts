// Batched inference over a stored split: predictions, mean loss and accuracy.
import * as tf from '@tensorflow/tfjs';
import { gatherImages, oneHot, type SplitData } from '../data/dataset';
import { yieldToEventLoop } from '../tf/event-loop';

const EVAL_BATCH = 1000;

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

export async function predictSplit(
  model: tf.LayersModel,
  data: SplitData,
  indices: Uint32Array,
  numClasses: number,
  prepare: InputPreparer = unitScale(data.imageShape),
  onProgress?: (done: number, total: number) => void,
  /** Probabilities for a prepared batch (default: one forward pass; e.g. predictWithTta). */
  forward: (model: tf.LayersModel, input: tf.Tensor) => tf.Tensor = predictBatch,
): Promise<SplitPredictions> {
  const started = Date.now();
  const labels = new Uint8Array(indices.length);
  const predicted = new Uint8Array(indices.length);
  const confidence = new Float32Array(indices.length);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < indices.length; start += EVAL_BATCH) {
    const idx = indices.subarray(start, Math.min(start + EVAL_BATCH, indices.length));
    const batch = gatherImages(data, idx);
    const input = prepare(batch.images, idx.length);
    const [loss, argmax, top] = tf.tidy(() => {
      const probs = forward(model, input) as tf.Tensor2D;
      const y = tf.tensor2d(oneHot(batch.labels, numClasses), [idx.length, numClasses]);
      return [tf.sum(tf.metrics.categoricalCrossentropy(y, probs)), probs.argMax(1), probs.max(1)];
    });
    lossSum += (await loss.data())[0];
    const pred = await argmax.data();
    confidence.set(await top.data(), start);
    input.dispose();
    loss.dispose();
    argmax.dispose();
    top.dispose();
    await yieldToEventLoop();
    for (let i = 0; i < idx.length; i++) {
      labels[start + i] = batch.labels[i];
      predicted[start + i] = pred[i];
      if (pred[i] === batch.labels[i]) correct++;
    }
    onProgress?.(start + idx.length, indices.length);
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

/** 0..n-1, for predicting a whole split. */
export function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}
