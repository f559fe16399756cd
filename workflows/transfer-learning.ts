// Workflow `transferLearning`: a folder of photos + a pretrained backbone → the better of
// two classifiers, with the evidence side by side.
//   ingest (list → hash pages → plan → bounded fan-out per shard → finalize) → extract features (per shard, cached) → logistic-regression head
//   → staged fine-tuning (GPU queue) → evaluate both on held-out data → choose
//   → (when asked) compete for champion of a model name in the registry.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type TransferLearningInput, type MethodResult, TransferOptionsSchema, runIdFor, type TransferRunResult, TRANSFER_STEPS, runSteps, transferWork, addFeatures, addIngest, EMPTY_FEATURE_SUMMARY, EMPTY_INGEST_SUMMARY, EMPTY_HASH_SUMMARY, addHashed, storedImageSize } from '../contracts';
import { validOptions } from './options';
import { CPU_STEP, TRAINING_RETRY } from './retry';
import { trackSteps } from './steps';
import { partitioned } from './fan-out';
import { extractShards, hashPages, ingestShards } from './shard-steps';

const cpu = proxyActivities<Activities>(CPU_STEP);

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

  // Fanned-out steps record how many of their shards have finished (no extra history: each
  // completion is an event anyway); clients add the running activities' heartbeats.
  const countFinished = (name: string, what: string, total: number) => {
    let finished = 0;
    if (progress.step === name) progress.detail = { step: name, message: what, activities: { finished, total } };
    return (shards: number) => {
      finished += shards;
      if (progress.step === name) progress.detail = { step: name, message: what, activities: { finished, total } };
    };
  };

  const backbone = await step('backbone', () => cpu.describeBackbone({ backbone: options.backbone, cutLayer: options.cutLayer }));

  const dataset = await step('ingest', async () => {
    const ingestOptions = {
      data: options.data,
      imageSize: storedImageSize(backbone.inputSize, options.storedSize),
      colorMode: backbone.channels === 1 ? ('grayscale' as const) : ('rgb' as const),
      resize: options.resize,
      seed: options.seed,
      validationFraction: options.validationFraction,
      shardSize: options.shardSize,
      maxPixels: options.maxPixels,
    };
    // A local folder is listed in pages and hashed page by page across workers; other sources are scanned by the plan step.
    const listing = await cpu.listImageFiles(ingestOptions);
    const { listingKey } = listing;
    const hashed = listingKey
      ? await partitioned(hashPages, { listingKey }, listing.pages, options.maxInFlight, addHashed, EMPTY_HASH_SUMMARY, countFinished('ingest', 'file pages', listing.pages))
      : EMPTY_HASH_SUMMARY;
    const plan = await cpu.planImageDataset({ ...ingestOptions, listingKey });
    const planned = listing.seconds + hashed.seconds + (plan.seconds ?? 0);
    const planActivities = 2 + hashed.pages;
    if (plan.cached && plan.manifestKey) {
      return { manifestKey: plan.manifestKey, cached: true, cacheReason: plan.cacheReason, seconds: planned, activities: planActivities };
    }
    const shards = await partitioned(ingestShards, { planKey: plan.planKey }, plan.shards, options.maxInFlight, addIngest, EMPTY_INGEST_SUMMARY, countFinished('ingest', 'image shards', plan.shards));
    const final = await cpu.finalizeImageDataset({ planKey: plan.planKey });
    const seconds = planned + shards.seconds + final.seconds;
    return { manifestKey: final.manifestKey, cached: false, cacheReason: plan.cacheReason, seconds, activities: planActivities + shards.shards + 1 };
  });

  const features = await step('extract', async () => {
    const splits = await cpu.countDatasetShards({ manifestKey: dataset.manifestKey });
    const total = splits.reduce((n, s) => n + s.shards, 0);
    const input = { manifestKey: dataset.manifestKey, backbone, splits };
    return partitioned(extractShards, input, total, options.maxInFlight, addFeatures, EMPTY_FEATURE_SUMMARY, countFinished('extract', 'feature shards', total));
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
