// Activity: trains the lab CNN. Heartbeats every batch; checkpoints (weights + optimizer
// state) to S3 at each epoch end; a retried attempt resumes from the checkpoint named in
// its last heartbeat instead of starting over.
import { Context } from '@temporalio/activity';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import { z } from 'zod';
import { type TrainInput, type TrainResult, runKeys, type EpochRecord, epochRecordSchema } from '../contracts';
import { buildLabCnn } from '../lib/models/lab-cnn';
import { unitBatch } from '../lib/data/dataset';
import { openTrainingData, TrainingStream } from '../lib/data/training-stream';
import { meanImagesPerSecond, runEpochs, type EpochLoop } from '../lib/training/epochs';
import { augmentSmallImagesInPlace } from '../lib/training/augment';
import { learningRateAt } from '../lib/training/lr-schedule';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { disposeModel, saveWithOptimizer } from '../lib/tf/dispose-model';
import { predictSplit } from '../lib/models/inference';
import { boundaryRecorder, heartbeatProgress, resumeCheckpoint } from './progress';
import { epochFraction, type ProgressBeat } from '../lib/progress';

/** What each heartbeat carries: live progress, and `checkpoint`, what a retry resumes from. */
export interface TrainHeartbeat extends ProgressBeat {
  checkpoint: { epoch: number; prefix: string; history: EpochRecord[] } | null;
}

/** The checkpoint a previous attempt's last heartbeat named; anything else means start afresh. */
const resumeSchema: z.ZodType<Pick<TrainHeartbeat, 'checkpoint'>> = z.object({
  checkpoint: z.object({ epoch: z.number().int().nonnegative(), prefix: z.string(), history: z.array(epochRecordSchema) }).nullable(),
});

/** The run's learning rates: per epoch (exponential decay) or per step (warm-up, then cosine over every step). */
function learningRates(options: TrainInput['options']): Pick<EpochLoop, 'learningRate' | 'learningRateAt'> {
  if (options.lrSchedule === 'warmup-cosine') {
    return { learningRateAt: (epoch, batch, batches) => learningRateAt('warmup-cosine', options.learningRate, (epoch - 1) * batches + batch - 1, options.epochs * batches) };
  }
  return { learningRate: (epoch) => options.learningRate * (options.learningRateDecay ?? 1) ** (epoch - 1) };
}

export function trainLabCnnActivity(deps: ActivityDeps) {
  return async function trainLabCnn(input: TrainInput): Promise<TrainResult> {
    const { store, backend, config } = deps();
    const ctx = Context.current();
    const { options } = input;
    const keys = runKeys(input.runId);
    const { numClasses, reader, split } = await openTrainingData(store, input.manifestKey, { ...options, cacheBytes: config.shardCacheBytes });
    const stream = new TrainingStream(reader, split.train, options.batchSize);

    const previous = resumeCheckpoint(resumeSchema, 'training');
    let model: tf.LayersModel;
    let history: EpochRecord[] = [];
    if (previous) {
      ctx.log.info('resuming from checkpoint', { epoch: previous.epoch, prefix: previous.prefix });
      model = await tf.loadLayersModel(s3ModelIO(store, previous.prefix));
      history = previous.history;
    } else {
      model = buildLabCnn(options.seed, numClasses, options.init);
      model.compile({ optimizer: tf.train.adam(options.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    }
    const resumedFromEpoch = previous ? previous.epoch : 0;
    let checkpoint = previous;
    const record = boundaryRecorder(input.recordEverySeconds);
    const started = Date.now();
    const [h, w, c] = reader.imageShape;
    const epochs = options.epochs;

    let trained: EpochRecord[];
    try {
      trained = await runEpochs({
        model,
        trainIndices: split.train,
        batchSize: options.batchSize,
        firstEpoch: resumedFromEpoch + 1,
        lastEpoch: epochs,
        seed: options.seed,
        ...learningRates(options),
        order: (epoch) => stream.epochRows(options.seed, epoch),
        makeBatch: async (idx, b) => {
          const batch = unitBatch(await stream.gather(idx, b), numClasses, options.labelSmoothing ?? 0);
          const how = { flip: options.augment, maxShift: options.shift ?? 0, erase: options.erase ?? 0 };
          if (how.flip || how.maxShift > 0 || how.erase > 0) augmentSmallImagesInPlace(batch.x, idx.length, h, w, options.seed * 7919 + idx[0] + b * 104729, how);
          return { x: tf.tensor4d(batch.x, [idx.length, h, w, c]), y: tf.tensor2d(batch.y, [idx.length, numClasses]) };
        },
        validate: () => predictSplit(model, reader, split.validation, numClasses),
        onBatch: (p) => {
          heartbeatProgress({ step: 'train', ...p, epochs, fraction: epochFraction(p.epoch, epochs, p.batch, p.batches) }, { checkpoint });
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        },
        onEpochEnd: async (epoch) => {
          history.push(epoch);
          const prefix = keys.checkpoint(epoch.epoch);
          await saveWithOptimizer(model, s3ModelIO(store, prefix));
          checkpoint = { epoch: epoch.epoch, prefix, history: [...history] };
          const { loss, accuracy, valAccuracy, imagesPerSecond } = epoch;
          const progress = { step: 'train', epoch: epoch.epoch, epochs, loss, accuracy, valAccuracy, imagesPerSecond, fraction: epoch.epoch / epochs };
          heartbeatProgress(progress, { checkpoint } satisfies Omit<TrainHeartbeat, 'progress'>);
          record(progress);
          ctx.log.info('epoch done', { ...epoch });
        },
      });
      await model.save(s3ModelIO(store, keys.model));
    } finally {
      disposeModel(model);
      reader.release();
    }
    const seconds = (Date.now() - started) / 1000;
    return {
      modelPrefix: keys.model,
      history,
      resumedFromEpoch,
      trainCount: split.train.length,
      validationCount: split.validation.length,
      seconds,
      imagesPerSecond: meanImagesPerSecond(trained, split.train.length),
      backend,
    };
  };
}
