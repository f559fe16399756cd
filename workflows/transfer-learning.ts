// Workflow `transferLearning`: a folder of photos + a pretrained backbone → the better of
// two classifiers, with the evidence side by side.
//   ingest (fan-out per shard) → extract features (per shard, cached) → logistic-regression head
//   → staged fine-tuning (GPU queue) → evaluate both on held-out data → choose
//   → (when asked) compete for champion of a model name in the registry.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type TransferLearningInput, type MethodResult, TransferOptionsSchema, runIdFor, type TransferRunResult, TRANSFER_STEPS, runSteps, transferWork, addFeatures, EMPTY_FEATURE_SUMMARY } from '../contracts';
import { validOptions } from './options';
import { FAULT_RETRY, TRAINING_RETRY } from './retry';
import { trackSteps } from './steps';

const cpu = proxyActivities<Activities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '2 minutes', retry: FAULT_RETRY });

export async function transferLearning(input: TransferLearningInput): Promise<TransferRunResult> {
  const options = validOptions(TransferOptionsSchema, input.options);
  const runId = runIdFor(workflowInfo().workflowId);
  // Fine-tuning is the heavy step: it runs on the GPU workers' own queue.
  const { fineTune } = proxyActivities<Activities>({
    taskQueue: input.gpuTaskQueue,
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '1 minute',
    retry: TRAINING_RETRY,
  });

  const { promotion } = input;
  const steps = runSteps(TRANSFER_STEPS, !!promotion);
  const { progress, timings, step } = trackSteps('transfer', steps, transferWork(options, !!promotion));

  // Fanned-out steps record how many of their parallel activities have finished (no extra
  // history: each completion is an event anyway); clients add the running ones' heartbeats.
  const countDone = async <T>(activity: Promise<T>, name: string, what: string, total: number): Promise<T> => {
    if (progress.step === name && !progress.detail?.activities) progress.detail = { step: name, message: what, activities: { finished: 0, total } };
    const result = await activity;
    if (progress.step === name) {
      const finished = (progress.detail?.activities?.finished ?? 0) + 1;
      progress.detail = { step: name, message: what, activities: { finished, total } };
    }
    return result;
  };

  const backbone = await step('backbone', () => cpu.describeBackbone({ backbone: options.backbone, cutLayer: options.cutLayer }));

  const dataset = await step('ingest', async () => {
    const plan = await cpu.planImageDataset({
      data: options.data,
      imageSize: backbone.inputSize,
      colorMode: backbone.channels === 1 ? 'grayscale' : 'rgb',
      resize: options.resize,
      seed: options.seed,
      validationFraction: options.validationFraction,
      shardSize: options.shardSize,
      maxPixels: options.maxPixels,
    });
    if (plan.cached && plan.manifestKey) {
      return { manifestKey: plan.manifestKey, cached: true, cacheReason: plan.cacheReason, seconds: plan.seconds ?? 0, activities: 1 };
    }
    const shards = await Promise.all(
      Array.from({ length: plan.shards }, (_, shardIndex) => countDone(cpu.ingestImageShard({ planKey: plan.planKey, shardIndex }), 'ingest', 'image shards', plan.shards)),
    );
    const final = await cpu.finalizeImageDataset({ planKey: plan.planKey, shards });
    const seconds = (plan.seconds ?? 0) + shards.reduce((sum, s) => sum + (s.seconds ?? 0), 0) + final.seconds;
    return { manifestKey: final.manifestKey, cached: false, cacheReason: plan.cacheReason, seconds, activities: shards.length + 2 };
  });

  const features = await step('extract', async () => {
    const shardList = await cpu.listDatasetShards({ manifestKey: dataset.manifestKey });
    const shards = await Promise.all(
      shardList.map((shard) =>
        countDone(cpu.extractFeatures({ manifestKey: dataset.manifestKey, split: shard.split, shardIndex: shard.shardIndex, backbone }), 'extract', 'feature shards', shardList.length),
      ),
    );
    return shards.reduce(addFeatures, EMPTY_FEATURE_SUMMARY);
  });

  const methods: MethodResult[] = [];
  if (options.method !== 'finetune') {
    methods.push(
      await step('features', () => cpu.trainFeatureHead({ runId, manifestKey: dataset.manifestKey, backbone, options })),
    );
  }
  if (options.method !== 'features') {
    const warmStart = methods.find((m) => m.method === 'features')?.headKey;
    methods.push(await step('finetune', () => fineTune({ runId, manifestKey: dataset.manifestKey, backbone, options, warmStartHead: warmStart, recordEverySeconds: input.recordEverySeconds })));
  }

  const chosen = await step('evaluate', () =>
    cpu.evaluateTransfer({ runId, manifestKey: dataset.manifestKey, backbone, options, methods, ingest: dataset, features, timings: { ...timings } }),
  );
  const decision = promotion
    ? await step('promote', () => cpu.promoteModel({ runId, ...promotion, requestedBy: input.requestedBy ?? 'unknown' }))
    : undefined;
  progress.step = 'done';
  progress.testAccuracy = chosen.heldOutAccuracy;
  return decision ? { ...chosen, promotion: decision } : chosen;
}
