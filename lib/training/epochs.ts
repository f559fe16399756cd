// The epoch loop shared by every trainer: seeded batch order, per-batch callbacks (for
// heartbeats and progress), validation and a checkpoint hook at each epoch end.
import * as tf from '@tensorflow/tfjs';
import type { EpochRecord } from '../report';
import { seededPermutation } from '../dataset';
import { yieldToEventLoop } from '../event-loop';

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export interface EpochLoop {
  model: tf.LayersModel;
  /** Example indices to train on; the order within each epoch is a seeded shuffle of these. */
  trainIndices: Uint32Array;
  batchSize: number;
  /** Epoch numbers are 1-based; training runs epochs firstEpoch..lastEpoch inclusive. */
  firstEpoch: number;
  lastEpoch: number;
  seed: number;
  makeBatch: (indices: Uint32Array) => { x: tf.Tensor; y: tf.Tensor };
  /** Learning rate for an epoch (a schedule); unset keeps the optimizer's own. */
  learningRate?: (epoch: number) => number;
  validate: () => Promise<{ loss: number; accuracy: number }>;
  onBatch?: (progress: BatchProgress) => void;
  /** Called after each epoch (checkpoint here); returning 'stop' ends the loop early. */
  onEpochEnd?: (record: EpochRecord) => Promise<void | 'stop'>;
}

/** Runs the epochs and returns their records. */
export async function runEpochs(loop: EpochLoop): Promise<EpochRecord[]> {
  const records: EpochRecord[] = [];
  const n = loop.trainIndices.length;
  const batches = Math.ceil(n / loop.batchSize);
  for (let epoch = loop.firstEpoch; epoch <= loop.lastEpoch; epoch++) {
    const started = Date.now();
    if (loop.learningRate) setLearningRate(loop.model.optimizer, loop.learningRate(epoch));
    // The order depends only on (seed, epoch), so a resumed epoch sees the same batches.
    const order = seededPermutation(n, loop.seed + epoch);
    let lossSum = 0;
    let accSum = 0;
    let seen = 0;
    for (let b = 0; b < batches; b++) {
      const size = Math.min(loop.batchSize, n - b * loop.batchSize);
      const idx = new Uint32Array(size);
      for (let i = 0; i < size; i++) idx[i] = loop.trainIndices[order[b * loop.batchSize + i]];
      const { x, y } = loop.makeBatch(idx);
      let loss: number;
      let accuracy: number;
      try {
        [loss, accuracy] = (await loop.model.trainOnBatch(x, y)) as number[];
      } finally {
        x.dispose();
        y.dispose();
      }
      lossSum += loss * size;
      accSum += accuracy * size;
      seen += size;
      loop.onBatch?.({ epoch, batch: b + 1, batches, loss, accuracy, imagesPerSecond: seen / ((Date.now() - started) / 1000) });
      await yieldToEventLoop();
    }
    const seconds = (Date.now() - started) / 1000;
    const val = await loop.validate();
    const record: EpochRecord = {
      epoch,
      loss: lossSum / seen,
      accuracy: accSum / seen,
      valLoss: val.loss,
      valAccuracy: val.accuracy,
      seconds,
      imagesPerSecond: seen / seconds,
    };
    records.push(record);
    if ((await loop.onEpochEnd?.(record)) === 'stop') break;
  }
  return records;
}

/**
 * tfjs optimizers read their `learningRate` field at every step but offer no setter;
 * assigning it keeps the optimizer's moment estimates, which a new optimizer would lose.
 */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}

/** Training throughput over a set of epoch records. */
export function meanImagesPerSecond(records: EpochRecord[], imagesPerEpoch: number): number {
  const seconds = records.reduce((s, r) => s + r.seconds, 0);
  return seconds > 0 ? (records.length * imagesPerEpoch) / seconds : 0;
}
