// Batched inference over a stored split: predictions, mean loss and accuracy.
import * as tf from '@tensorflow/tfjs';
import { gatherBatch, type SplitData } from '../dataset';
import { yieldToEventLoop } from '../event-loop';

const EVAL_BATCH = 1000;

export interface SplitPredictions {
  loss: number;
  accuracy: number;
  labels: Uint8Array;
  predicted: Uint8Array;
  seconds: number;
  imagesPerSecond: number;
}

export async function predictSplit(
  model: tf.LayersModel,
  data: SplitData,
  indices: Uint32Array,
  numClasses: number,
): Promise<SplitPredictions> {
  const started = Date.now();
  const [h, w, c] = data.imageShape;
  const labels = new Uint8Array(indices.length);
  const predicted = new Uint8Array(indices.length);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < indices.length; start += EVAL_BATCH) {
    const idx = indices.subarray(start, Math.min(start + EVAL_BATCH, indices.length));
    const batch = gatherBatch(data, idx, numClasses);
    const [loss, argmax] = tf.tidy(() => {
      const probs = model.predict(tf.tensor4d(batch.x, [idx.length, h, w, c])) as tf.Tensor2D;
      const y = tf.tensor2d(batch.y, [idx.length, numClasses]);
      return [tf.sum(tf.metrics.categoricalCrossentropy(y, probs)), probs.argMax(1)];
    });
    lossSum += (await loss.data())[0];
    const pred = await argmax.data();
    loss.dispose();
    argmax.dispose();
    await yieldToEventLoop();
    for (let i = 0; i < idx.length; i++) {
      labels[start + i] = batch.labels[i];
      predicted[start + i] = pred[i];
      if (pred[i] === batch.labels[i]) correct++;
    }
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    loss: lossSum / indices.length,
    accuracy: correct / indices.length,
    labels,
    predicted,
    seconds,
    imagesPerSecond: indices.length / Math.max(seconds, 1e-9),
  };
}

/** 0..n-1, for predicting a whole split. */
export function allIndices(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}
