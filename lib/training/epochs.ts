// The epoch loop shared by every trainer: seeded batch order, per-batch callbacks (for
// heartbeats and progress), validation and a checkpoint hook at each epoch end.
//
// Each step runs tfjs-layers' own train function (what trainOnBatch runs), but the losses
// are not read back after every batch: reading makes a GPU backend drain its queue, so the
// CPU cannot record the next step while the GPU computes this one. Losses stay on the
// device and are read together every `readEvery` batches.
import * as tf from '@tensorflow/tfjs';
import type { EpochRecord } from '../../contracts';
import { seededPermutation } from '../data/dataset';
import { yieldToEventLoop } from '../tf/event-loop';

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export interface TrainingBatch {
  x: tf.Tensor;
  y: tf.Tensor;
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
  /**
   * The epoch's example indices in training order, a permutation of trainIndices (default: a
   * seeded shuffle of them). Must depend only on the epoch, so a resumed epoch sees the same batches.
   */
  order?: (epoch: number) => Uint32Array;
  /** The batch's tensors (runEpochs disposes them); `batch` is its 0-based number in the epoch. */
  makeBatch: (indices: Uint32Array, batch: number) => TrainingBatch | Promise<TrainingBatch>;
  /** Learning rate for an epoch (a schedule); unset keeps the optimizer's own. */
  learningRate?: (epoch: number) => number;
  /** Learning rate for each batch (1-based epoch and batch), set before its step; overrides learningRate. */
  learningRateAt?: (epoch: number, batch: number, batches: number) => number;
  validate: () => Promise<{ loss: number; accuracy: number }>;
  /** Called for every batch, in order, once its loss has been read (see readEvery). */
  onBatch?: (progress: BatchProgress) => void;
  /** Batches between reads of the losses: default 1 on CPU backends, 8 on webgpu. */
  readEvery?: number;
  /** Called after each epoch (checkpoint here); returning 'stop' ends the loop early. */
  onEpochEnd?: (record: EpochRecord) => Promise<void | 'stop'>;
}

/** Batches between loss reads when a loop does not say: only GPU backends gain from fewer. */
export function defaultReadEvery(backend = tf.getBackend()): number {
  return backend === 'webgpu' || backend === 'webgl' ? 8 : 1;
}

type TrainFunction = (data: tf.Tensor[]) => tf.Scalar[];
/** A trained batch whose loss and metrics are still on the device. */
type UnreadBatch = { batch: number; size: number; values: tf.Scalar[] };

/** Runs the epochs and returns their records. */
export async function runEpochs(loop: EpochLoop): Promise<EpochRecord[]> {
  const records: EpochRecord[] = [];
  const n = loop.trainIndices.length;
  const batches = Math.ceil(n / loop.batchSize);
  const readEvery = Math.max(1, Math.floor(loop.readEvery ?? defaultReadEvery()));
  for (let epoch = loop.firstEpoch; epoch <= loop.lastEpoch; epoch++) {
    const started = Date.now();
    if (loop.learningRate) setLearningRate(loop.model.optimizer, loop.learningRate(epoch));
    // Made per epoch: it captures the weights that are trainable now (stages change them).
    const train = trainFunction(loop.model);
    // The order depends only on (seed, epoch), so a resumed epoch sees the same batches.
    const order = loop.order ? loop.order(epoch) : seededShuffle(loop.trainIndices, loop.seed + epoch);
    if (order.length !== n) throw new Error(`epoch ${epoch}'s order has ${order.length} examples, not the ${n} to train on`);
    const totals = { loss: 0, accuracy: 0, seen: 0 };
    let unread: UnreadBatch[] = [];
    for (let b = 0; b < batches; b++) {
      const size = Math.min(loop.batchSize, n - b * loop.batchSize);
      const idx = order.slice(b * loop.batchSize, b * loop.batchSize + size);
      const { x, y } = await loop.makeBatch(idx, b);
      if (loop.learningRateAt) setLearningRate(loop.model.optimizer, loop.learningRateAt(epoch, b + 1, batches));
      try {
        unread.push({ batch: b + 1, size, values: train([x, y]) });
      } finally {
        x.dispose();
        y.dispose();
      }
      if (unread.length === readEvery || b === batches - 1) {
        await readLosses(unread, (batch, size, loss, accuracy) => {
          totals.loss += loss * size;
          totals.accuracy += accuracy * size;
          totals.seen += size;
          loop.onBatch?.({ epoch, batch, batches, loss, accuracy, imagesPerSecond: totals.seen / ((Date.now() - started) / 1000) });
        });
        unread = [];
      }
      await yieldToEventLoop();
    }
    const seconds = (Date.now() - started) / 1000;
    const val = await loop.validate();
    const record: EpochRecord = {
      epoch,
      loss: totals.loss / totals.seen,
      accuracy: totals.accuracy / totals.seen,
      valLoss: val.loss,
      valAccuracy: val.accuracy,
      seconds,
      imagesPerSecond: totals.seen / seconds,
    };
    records.push(record);
    if ((await loop.onEpochEnd?.(record)) === 'stop') break;
  }
  return records;
}

/** The indices in a seeded random order. */
function seededShuffle(indices: Uint32Array, seed: number): Uint32Array {
  const perm = seededPermutation(indices.length, seed);
  return perm.map((p) => indices[p]);
}

/** tfjs-layers' step for a compiled model; a Sequential trains through the model it wraps. */
function trainFunction(model: tf.LayersModel): TrainFunction {
  const compiled = model instanceof tf.Sequential ? (model as unknown as { model: tf.LayersModel }).model : model;
  return (compiled as unknown as { makeTrainFunction(): TrainFunction }).makeTrainFunction();
}

/** One read for a group of batches: their [loss, accuracy] scalars stacked into one tensor. */
async function readLosses(
  unread: UnreadBatch[],
  each: (batch: number, size: number, loss: number, accuracy: number) => void,
): Promise<void> {
  const scalars = unread.flatMap((u) => u.values);
  const stacked = tf.stack(scalars);
  try {
    const values = await stacked.data();
    const perBatch = unread[0].values.length; // loss, then the compiled metrics (accuracy first)
    unread.forEach((u, i) => each(u.batch, u.size, values[i * perBatch], values[i * perBatch + 1] ?? NaN));
  } finally {
    tf.dispose([stacked, ...scalars]);
  }
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
