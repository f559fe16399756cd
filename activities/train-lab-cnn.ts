// Activity: trains the lab CNN. Heartbeats every batch; checkpoints (weights + optimizer
// state) to S3 at each epoch end; a retried attempt resumes from the checkpoint named in
// its last heartbeat instead of starting over.
import { Context } from '@temporalio/activity';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import type { TrainInput, TrainResult } from '../lib/pipeline-types';
import { runKeys } from '../lib/pipeline-types';
import type { EpochRecord } from '../lib/report';
import { buildLabCnn } from '../lib/models/lab-cnn';
import { gatherBatch, loadManifest, loadSplit, seededPermutation, trainValidationSplit, type SplitData } from '../lib/dataset';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { predictSplit } from '../lib/models/inference';
import { failFastOnBadInput } from './errors';
import { progressReporter } from './progress';
import { yieldToEventLoop } from '../lib/event-loop';

/** What each heartbeat carries; `checkpoint` is what a retry resumes from. */
export interface TrainHeartbeat {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  checkpoint: { epoch: number; prefix: string; history: EpochRecord[] } | null;
}

export function trainLabCnnActivity(deps: ActivityDeps) {
  return async function trainLabCnn(input: TrainInput): Promise<TrainResult> {
    return failFastOnBadInput(async () => {
      const { store, backend } = deps();
      const ctx = Context.current();
      const { options } = input;
      const keys = runKeys(input.runId);
      const manifest = await loadManifest(store, input.manifestKey);
      const numClasses = manifest.classNames.length;
      const data = await loadSplit(store, manifest, 'train');
      const split = trainValidationSplit(data.count, options);
      const batches = Math.ceil(split.train.length / options.batchSize);

      const previous = (ctx.info.heartbeatDetails as TrainHeartbeat | undefined)?.checkpoint ?? null;
      let model: tf.LayersModel;
      let history: EpochRecord[] = [];
      if (previous) {
        ctx.log.info('resuming from checkpoint', { epoch: previous.epoch, prefix: previous.prefix });
        model = await tf.loadLayersModel(s3ModelIO(store, previous.prefix));
        history = previous.history;
      } else {
        model = buildLabCnn(options.seed, numClasses);
        model.compile({ optimizer: tf.train.adam(options.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      }
      const resumedFromEpoch = previous ? previous.epoch : 0;
      let checkpoint = previous;
      const report = progressReporter();
      const started = Date.now();

      for (let epoch = resumedFromEpoch; epoch < options.epochs; epoch++) {
        const epochStart = Date.now();
        // The order depends only on (seed, epoch), so a resumed epoch sees the same batches.
        const order = seededPermutation(split.train.length, options.seed + 1 + epoch);
        let lossSum = 0;
        let accSum = 0;
        let seen = 0;
        for (let b = 0; b < batches; b++) {
          const idx = new Uint32Array(Math.min(options.batchSize, split.train.length - b * options.batchSize));
          for (let i = 0; i < idx.length; i++) idx[i] = split.train[order[b * options.batchSize + i]];
          const { loss, accuracy } = await trainBatch(model, data, idx, numClasses);
          lossSum += loss * idx.length;
          accSum += accuracy * idx.length;
          seen += idx.length;
          const beat: TrainHeartbeat = { epoch: epoch + 1, epochs: options.epochs, batch: b + 1, batches, loss, accuracy, checkpoint };
          ctx.heartbeat(beat);
          report({ step: 'train', epoch: epoch + 1, epochs: options.epochs, batch: b + 1, batches, loss, accuracy, imagesPerSecond: seen / ((Date.now() - epochStart) / 1000) });
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          await yieldToEventLoop();
        }
        const trainSeconds = (Date.now() - epochStart) / 1000;
        const val = await predictSplit(model, data, split.validation, numClasses);
        history.push({
          epoch: epoch + 1,
          loss: lossSum / seen,
          accuracy: accSum / seen,
          valLoss: val.loss,
          valAccuracy: val.accuracy,
          seconds: trainSeconds,
          imagesPerSecond: seen / trainSeconds,
        });
        const prefix = keys.checkpoint(epoch + 1);
        await model.save(s3ModelIO(store, prefix), { includeOptimizer: true });
        checkpoint = { epoch: epoch + 1, prefix, history: [...history] };
        ctx.heartbeat({ epoch: epoch + 1, epochs: options.epochs, batch: batches, batches, loss: lossSum / seen, accuracy: accSum / seen, checkpoint } satisfies TrainHeartbeat);
        report({ step: 'train', epoch: epoch + 1, epochs: options.epochs, batch: batches, batches, loss: lossSum / seen, accuracy: accSum / seen, valAccuracy: val.accuracy }, true);
        ctx.log.info('epoch done', { ...history[history.length - 1] });
      }

      await model.save(s3ModelIO(store, keys.model));
      model.dispose();
      const seconds = (Date.now() - started) / 1000;
      const trained = history.slice(resumedFromEpoch);
      const trainSeconds = trained.reduce((s, h) => s + h.seconds, 0);
      return {
        modelPrefix: keys.model,
        history,
        resumedFromEpoch,
        trainCount: split.train.length,
        validationCount: split.validation.length,
        seconds,
        imagesPerSecond: trainSeconds > 0 ? (trained.length * split.train.length) / trainSeconds : 0,
        backend,
      };
    });
  };
}

async function trainBatch(model: tf.LayersModel, data: SplitData, idx: Uint32Array, numClasses: number) {
  const batch = gatherBatch(data, idx, numClasses);
  const [h, w, c] = data.imageShape;
  const x = tf.tensor4d(batch.x, [idx.length, h, w, c]);
  const y = tf.tensor2d(batch.y, [idx.length, numClasses]);
  try {
    const [loss, accuracy] = (await model.trainOnBatch(x, y)) as number[];
    return { loss, accuracy };
  } finally {
    x.dispose();
    y.dispose();
  }
}
