// Activity (GPU queue): method 2, fine-tuning. A fresh head on the backbone body (or one
// warm-started from the logistic-regression head), trained in stages that unfreeze more of
// the body at smaller learning rates. Checkpoints every epoch; a retry resumes from the
// checkpoint named in the last heartbeat. Each stage keeps its best epoch on the held-back
// part of train, its starting weights counting as epoch 0, so a stage never ends worse
// there than it began (lib/training/keep-best.ts).
import { type FineTuneInput, type MethodResult, type StageRecord, type EpochRecord, type Stage, epochRecordSchema, StageSchema, FINE_TUNE_LABEL_SMOOTHING } from '../contracts';
import { Context } from '@temporalio/activity';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { ActivityDeps } from './deps';
import { oneHot } from '../lib/data/dataset';
import { openTrainingData, TrainingStream } from '../lib/data/training-stream';
import { forStoredImages, loadBackbone, preprocessImages, type Scaling } from '../lib/models/backbone';
import { applyStage, buildFineTuneModel, HEAD_LAYER_NAME } from '../lib/models/fine-tune';
import { stagePlan } from '../lib/models/stage-plan';
import { learningRateAt } from '../lib/training/lr-schedule';
import type { LogisticRegressionModel } from '../lib/models/logistic-regression';
import { predictSplit } from '../lib/models/inference';
import { runEpochs } from '../lib/training/epochs';
import { keepBetter, type KeptEpoch, type Scored } from '../lib/training/keep-best';
import { augmentBatch } from '../lib/training/augment';
import { loadWeights, saveWeights } from '../lib/training/weights';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { disposeModel } from '../lib/tf/dispose-model';
import { predictionMetadata, transferKeys } from '../lib/transfer';
import { boundaryRecorder, heartbeatProgress, resumeCheckpoint } from './progress';
import { epochFraction, type ProgressBeat } from '../lib/progress';

interface Checkpoint {
  stage: number; // index into the stages
  epoch: number; // last finished epoch of that stage
  weightsKey: string;
  /** The stage's kept epoch so far (0: its starting weights; see lib/training/keep-best.ts). */
  best: KeptEpoch | null;
  stages: StageRecord[]; // finished stages, plus the current one so far
}

/** What each heartbeat carries: live progress, and `checkpoint`, what a retry resumes from. */
export interface FineTuneHeartbeat extends ProgressBeat {
  checkpoint: Checkpoint | null;
}

// Typed against the interfaces above, so the check cannot drift from what heartbeats carry.
const scored = { valLoss: z.number(), valAccuracy: z.number() };
const stageRecordSchema: z.ZodType<StageRecord> = z.object({
  stage: StageSchema,
  history: z.array(epochRecordSchema),
  trainableLayers: z.number(),
  stoppedEarly: z.boolean(),
  start: z.object(scored).optional(),
  keptEpoch: z.number().optional(),
});
const checkpointSchema: z.ZodType<Checkpoint> = z.object({
  stage: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  weightsKey: z.string(),
  best: z.object({ ...scored, epoch: z.number().int().nonnegative(), weightsKey: z.string() }).nullable(),
  stages: z.array(stageRecordSchema),
});
/** The checkpoint a previous attempt's last heartbeat named; anything else means start afresh. */
const resumeSchema = z.object({ checkpoint: checkpointSchema.nullable() });

export function fineTuneActivity(deps: ActivityDeps) {
  return async function fineTune(input: FineTuneInput): Promise<MethodResult> {
    const { store, config } = deps();
    const ctx = Context.current();
    const { options } = input;
    const keys = transferKeys(input.runId);
    const { manifest, numClasses, reader, split } = await openTrainingData(store, input.manifestKey, { ...options, cacheBytes: config.shardCacheBytes });
    const stream = new TrainingStream(reader, split.train, options.batchSize);
    const plan = options.stages ? undefined : stagePlan(split.train.length);
    const stages: Stage[] = options.stages ?? plan!.stages;
    const recipe = { labelSmoothing: options.labelSmoothing ?? FINE_TUNE_LABEL_SMOOTHING, layerDecay: options.layerDecay };
    const schedule = options.lrSchedule ?? 'constant';

    // A private copy of the body: fine-tuning changes its weights.
    const backbone = await loadBackbone(input.backbone.source, { store, cutLayer: input.backbone.cutLayer, scaling: input.backbone.scaling as Scaling });
    const warmStart = input.warmStartHead ? await loadHead(store, input.warmStartHead) : undefined;
    const model = buildFineTuneModel(backbone.body, numClasses, { seed: options.seed, warmStart });
    const spec = forStoredImages(backbone.spec, manifest.imageShape);
    const prepare = (images: Uint8Array, n: number) => preprocessImages(spec, images, n);

    try {
      const resume = resumeCheckpoint(resumeSchema, 'fine-tuning');
      let checkpoint = resume;
      const records: StageRecord[] = resume ? resume.stages.slice(0, resume.stage) : [];
      const recordBoundary = boundaryRecorder(input.recordEverySeconds);
      // Progress counts every stage's epochs: a stage stopped early counts as done.
      const totalEpochs = stages.reduce((sum, st) => sum + st.epochs, 0);
      const fraction = (s: number, epoch: number, batch: number, batches: number) =>
        (stages.slice(0, s).reduce((sum, st) => sum + st.epochs, 0) + epochFraction(epoch, stages[s].epochs, batch, batches) * stages[s].epochs) / totalEpochs;
      const started = Date.now();
      let imagesTrained = 0;
      let trainSeconds = 0;

      for (let s = resume?.stage ?? 0; s < stages.length; s++) {
        const stage = stages[s];
        const trainable = applyStage(model, stage, [HEAD_LAYER_NAME], recipe);
        const batches = Math.ceil(split.train.length / options.batchSize);
        const resuming = resume && resume.stage === s ? resume : null;
        if (resuming) await loadWeights(store, resuming.weightsKey, model);
        const history: EpochRecord[] = [...(resuming?.stages[s]?.history ?? [])];
        let best = resuming?.best ?? null;
        let start: Scored | undefined = resuming?.stages[s]?.start;
        let stoppedEarly = false;
        if (!resuming) {
          // Epoch 0: the weights the stage starts from (after a warm start, the LR head's model).
          const scored = await predictSplit(model, reader, split.validation, numClasses, prepare);
          start = { valLoss: scored.loss, valAccuracy: scored.accuracy };
          best = { ...start, epoch: 0, weightsKey: await saveWeights(store, keys.checkpoint(s + 1, 0), model) };
        }

        const epochs = await runEpochs({
          model,
          trainIndices: split.train,
          batchSize: options.batchSize,
          firstEpoch: (resuming?.epoch ?? 0) + 1,
          lastEpoch: stage.epochs,
          seed: options.seed + 1000 * s,
          learningRateAt: (epoch, batch) => learningRateAt(schedule, stage.learningRate, (epoch - 1) * batches + batch - 1, stage.epochs * batches),
          order: (epoch) => stream.epochRows(options.seed + 1000 * s, epoch),
          makeBatch: async (idx, b) => {
            const batch = await stream.gather(idx, b);
            const x = tf.tidy(() => {
              const prepared = prepare(batch.images, idx.length) as tf.Tensor4D;
              return options.augment ? augmentBatch(prepared, options.seed + idx[0] * 7919 + s) : prepared;
            });
            return { x, y: tf.tensor2d(oneHot(batch.labels, numClasses), [idx.length, numClasses]) };
          },
          validate: () => predictSplit(model, reader, split.validation, numClasses, prepare),
          onBatch: (p) => {
            const progress = { step: 'finetune', message: `stage ${stage.name}`, ...p, epochs: stage.epochs, fraction: fraction(s, p.epoch, p.batch, p.batches) };
            heartbeatProgress(progress, { checkpoint });
            if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          },
          onEpochEnd: async (record) => {
            history.push(record);
            const weightsKey = await saveWeights(store, keys.checkpoint(s + 1, record.epoch), model);
            best = keepBetter(best, { valLoss: record.valLoss, valAccuracy: record.valAccuracy, epoch: record.epoch, weightsKey });
            const current: StageRecord = { stage, history: [...history], trainableLayers: trainable, stoppedEarly: false, start, keptEpoch: best.epoch };
            checkpoint = { stage: s, epoch: record.epoch, weightsKey, best, stages: [...records, current] };
            const { loss, accuracy, valAccuracy, imagesPerSecond } = record;
            const progress = { step: 'finetune', message: `stage ${stage.name}`, epoch: record.epoch, epochs: stage.epochs, loss, accuracy, valAccuracy, imagesPerSecond, fraction: fraction(s, record.epoch, 1, 1) };
            heartbeatProgress(progress, { checkpoint } satisfies Omit<FineTuneHeartbeat, 'progress'>);
            // A stage's end is a boundary every run has a few of: always recorded.
            recordBoundary(progress, record.epoch === stage.epochs || record.epoch - best.epoch >= options.patience);
            if (record.epoch - best.epoch >= options.patience) {
              stoppedEarly = true;
              return 'stop';
            }
          },
        });
        imagesTrained += epochs.length * split.train.length;
        trainSeconds += epochs.reduce((sum, r) => sum + r.seconds, 0);
        // Keep the stage's best epoch on the held-back images; epoch 0 (its start) included.
        const finalBest = best as Checkpoint['best'];
        if (finalBest && finalBest.epoch !== history[history.length - 1]?.epoch) await loadWeights(store, finalBest.weightsKey, model);
        records.push({ stage, history, trainableLayers: trainable, stoppedEarly, start, keptEpoch: finalBest?.epoch });
        if (finalBest) checkpoint = { stage: s + 1, epoch: 0, weightsKey: finalBest.weightsKey, best: null, stages: [...records] };
      }

      const selection = await predictSplit(model, reader, split.validation, numClasses, prepare);
      model.setUserDefinedMetadata({ ...predictionMetadata(manifest, input.backbone, options) });
      await model.save(s3ModelIO(store, keys.methodModel('finetune')));
      return {
        method: 'finetune',
        modelPrefix: keys.methodModel('finetune'),
        selectionAccuracy: selection.accuracy,
        trainSeconds: trainSeconds || (Date.now() - started) / 1000,
        imagesPerSecond: trainSeconds > 0 ? imagesTrained / trainSeconds : 0,
        stages: records,
        stagePlan: plan?.reason,
        resumedFrom: resume ? `stage ${resume.stage + 1}, epoch ${resume.epoch}` : undefined,
        backend: deps().backend,
      };
    } finally {
      disposeModel(model);
      reader.release();
    }
  };
}

/** The logistic-regression head as the features step stores it: arrays of numbers for the Float32Arrays. */
const storedHeadSchema = z
  .object({
    weights: z.array(z.number()),
    bias: z.array(z.number()),
    mean: z.array(z.number()),
    std: z.array(z.number()),
    l2: z.number(),
    valAccuracy: z.number(),
    valLoss: z.number(),
    grid: z.array(z.object({ l2: z.number(), valAccuracy: z.number(), valLoss: z.number() })),
    epochs: z.number(),
  })
  .describe('logistic-regression head');

async function loadHead(store: ReturnType<ActivityDeps>['store'], key: string): Promise<LogisticRegressionModel> {
  const head = await store.getJson(key, storedHeadSchema);
  return { ...head, weights: Float32Array.from(head.weights), bias: Float32Array.from(head.bias), mean: Float32Array.from(head.mean), std: Float32Array.from(head.std) };
}
