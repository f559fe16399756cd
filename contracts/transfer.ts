// The transfer-learning pipeline's options, activity inputs and results: keys and metrics only.
import type { PromotionDecision, RunRequest } from './promotion';
import { z } from 'zod';
import { flag, seedField } from './options';
import type { StageRecord, StageSpec } from './records';

const unfreezeSchema = z.union(
  [
    z.enum(['head', 'all']),
    z.strictObject({ topLayers: z.number().int().positive() }),
    z.strictObject({ blocks: z.array(z.string().min(1)).min(1) }),
  ],
  { error: 'expected "head", "all", {"topLayers": N} or {"blocks": ["layer-name prefix", …]}' },
);

/** One fine-tuning stage (lib/models/fine-tune.ts). */
export const StageSchema: z.ZodType<StageSpec> = z.strictObject({
  name: z.string().min(1),
  unfreeze: unfreezeSchema,
  epochs: z.number().int().positive(),
  learningRate: z.number().positive().max(1),
});

/** Fine-tuning stages: at least one, names unique. */
export const StagesSchema: z.ZodType<StageSpec[]> = z
  .array(StageSchema)
  .min(1)
  .superRefine((stages, ctx) => {
    const seen = new Set<string>();
    stages.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate stage name ${JSON.stringify(s.name)}` });
      seen.add(s.name);
    });
  });

export const TRANSFER_METHODS = ['both', 'features', 'finetune'] as const;
export type TransferMethod = (typeof TRANSFER_METHODS)[number];

/**
 * Fine-tuning's label smoothing when --label-smoothing is not given: on hymenoptera with
 * EfficientNet-Lite0 over 3 seeds, 0.1 won once and tied twice against 0 (README,
 * "Transfer-learning recipe"). Applied where it is used, not as a schema default, because
 * options stored earlier (schedules, running workflows) lack the field.
 */
export const FINE_TUNE_LABEL_SMOOTHING = 0.1;

/**
 * The transfer pipeline's options. Each flagged field is a `tl run transfer` option; the workflow
 * parses its input with this schema, so a value out of range never reaches an activity.
 */
export const TransferOptionsSchema = z.object({
  /** Image folder: a directory, s3://bucket/prefix, or a .zip/.tar.gz. */
  data: flag(z.string().min(1), '--data <dir|s3://bucket/prefix|archive>', 'images laid out class/* or {train,val,test}/class/*; .zip or .tar.gz accepted'),
  /** A registered backbone's name, or a tfjs Layers model: a local path, s3://bucket/prefix or an http(s) URL. */
  backbone: flag(z.string().min(1), '--backbone <name|path|s3://bucket/prefix|url>', 'a registered backbone (`tl backbones list`) or a tfjs Layers model (model.json + weights)'),
  cutLayer: flag(z.string().min(1).optional(), '--cut-layer <name>', 'layer whose output are the features (default: the global-average-pool before the classifier)'),
  method: flag(z.enum(TRANSFER_METHODS).default('both'), '--method <method>', 'which transfer method(s) to run'),
  stages: flag(StagesSchema.optional(), '--stages <json|file>', 'fine-tuning stages, e.g. [{"name":"head","unfreeze":"head","epochs":5,"learningRate":0.001}] (default: chosen from the number of training images)', { json: true }),
  resize: flag(z.enum(['cover', 'contain', 'fill']).default('cover'), '--resize <mode>', 'how images are fitted to the backbone input'),
  augment: flag(z.boolean().default(true), '--no-augment', 'no random flips and crops while fine-tuning'),
  patience: flag(z.number().int().min(1).max(100).default(3), '--patience <n>', 'early-stopping patience in epochs'),
  /** Also score the held-out images with test-time augmentation (flip, centre and corner crops). */
  tta: flag(z.boolean().optional(), '--tta', 'also report held-out accuracy with test-time augmentation (flip, centre and corner crops)'),
  /** Per-step learning rates within each stage (lib/training/lr-schedule.ts); default constant. */
  lrSchedule: flag(z.enum(['constant', 'warmup-cosine']).optional(), '--lr-schedule <schedule>', 'learning rate within each fine-tuning stage (default constant)'),
  /** Label smoothing ε for fine-tuning; unset means FINE_TUNE_LABEL_SMOOTHING. */
  labelSmoothing: flag(z.number().min(0).max(0.5).optional(), '--label-smoothing <x>', `label smoothing for fine-tuning (default ${FINE_TUNE_LABEL_SMOOTHING}; 0 = off)`),
  /** Discriminative learning rates: deeper trained layers at ×d and ×d² (lib/models/fine-tune.ts); default 1 (off). */
  layerDecay: flag(z.number().min(0.01).max(1).optional(), '--layer-decay <x>', 'discriminative learning rates: deeper trained layers at ×x and ×x² (default 1 = off)'),
  /** Share of the training split held back to choose L2 and to stop fine-tuning early. */
  validationFraction: flag(z.number().min(0.05).max(0.5).default(0.2), '--validation-fraction <x>', 'share of train held back for choices'),
  // Backbone-sized images (224×224 and more): larger batches than this do not fit a GPU.
  batchSize: flag(z.number().int().min(1).max(1024).default(32), '--batch-size <n>', 'mini-batch size'),
  seed: seedField(),
  shardSize: flag(z.number().int().min(1).max(65_536).default(128), '--shard-size <n>', 'images per stored shard: the unit of parallel decoding and feature extraction'),
  // A 224×224×3 image is 147 KiB stored, 64× a 28×28 one: at a million images, 150 GB of shards.
  storedSize: flag(
    z.number().int().min(8).max(4096).optional(),
    '--stored-size <px>',
    "store images at most this many pixels a side, resized to the backbone's input when used (default: stored at the input size)",
  ),
  // Temporal refuses more than 2,000 pending activities per execution; a fleet rarely needs more than this.
  maxInFlight: flag(z.number().int().min(1).max(500).default(64), '--max-in-flight <n>', 'shard activities a fanned-out step keeps in flight at once'),
  maxPixels: z.number().int().min(1).default(50_000_000),
});

export type TransferOptions = z.output<typeof TransferOptionsSchema>;

export const TRANSFER_DEFAULTS: Omit<TransferOptions, 'data' | 'backbone'> = TransferOptionsSchema.omit({ data: true, backbone: true }).parse({});

export interface BackboneInfo {
  /** Where the model is read from (a registered backbone: its copy in S3). */
  source: string;
  /** Set when the run named a registered backbone (lib/store/backbone-registry.ts). */
  name?: string;
  sha256: string;
  cutLayer: string;
  inputSize: [number, number];
  channels: number;
  scaling: string;
  featureDim: number;
}

export interface FeatureShard {
  split: string;
  count: number;
  features: string; // key of count × featureDim float32
  labels: string; // key of the dataset shard's labels (count uint8)
  cached: boolean;
  /** How long the extraction activity ran (a cache hit: the lookup only). */
  seconds?: number;
  /** The backend that extracted them (absent on a cache hit). */
  backend?: string;
  /** Where the activity's seconds went: reading the image shard, running the backbone, writing the features. */
  profile?: ExtractProfile;
}

/** How many shards (and images) a split of a dataset has. */
export interface SplitShards {
  split: string;
  shards: number;
  images: number;
}

/** The n-th shard of a dataset, counting split after split in the given order. */
export function nthShard(splits: SplitShards[], n: number): { split: string; shardIndex: number } {
  let rest = n;
  for (const s of splits) {
    if (rest < s.shards) return { split: s.split, shardIndex: rest };
    rest -= s.shards;
  }
  throw new RangeError(`shard ${n} is past the dataset's ${n - rest} shards`);
}

export interface ExtractProfile {
  readSeconds: number;
  computeSeconds: number;
  writeSeconds: number;
}

/**
 * What the extraction activities add up to: counts and sums, the same size for ten shards or
 * ten thousand, so it can cross workflow history (the shards themselves are named by
 * `featureKey`, from the manifest and the backbone).
 */
export interface FeatureSummary {
  shards: number;
  cached: number;
  images: number;
  seconds: number;
  backends: string[];
  profile?: ExtractProfile;
}

export const EMPTY_FEATURE_SUMMARY: FeatureSummary = { shards: 0, cached: 0, images: 0, seconds: 0, backends: [] };

/** Adds one shard's result, or another summary, to a summary (pure: workflows use it). */
export function addFeatures(summary: FeatureSummary, more: FeatureShard | FeatureSummary): FeatureSummary {
  const other: FeatureSummary =
    'shards' in more
      ? more
      : { shards: 1, cached: more.cached ? 1 : 0, images: more.count, seconds: more.seconds ?? 0, backends: more.backend ? [more.backend] : [], profile: more.profile };
  const profile =
    summary.profile && other.profile
      ? {
          readSeconds: summary.profile.readSeconds + other.profile.readSeconds,
          computeSeconds: summary.profile.computeSeconds + other.profile.computeSeconds,
          writeSeconds: summary.profile.writeSeconds + other.profile.writeSeconds,
        }
      : (summary.profile ?? other.profile);
  return {
    shards: summary.shards + other.shards,
    cached: summary.cached + other.cached,
    images: summary.images + other.images,
    seconds: summary.seconds + other.seconds,
    backends: [...new Set([...summary.backends, ...other.backends])],
    ...(profile ? { profile } : {}),
  };
}

/** What a method's training activity returns: small, the model itself stays in S3. */
export interface MethodResult {
  method: 'features' | 'finetune';
  /** tfjs model (backbone body + head) that predicts from uint8 images, with prediction metadata. */
  modelPrefix: string;
  selectionAccuracy: number;
  trainSeconds: number;
  imagesPerSecond: number;
  /** Features method: the fitted logistic-regression parameters (JSON), for warm starts. */
  headKey?: string;
  /** With cross-validation: fold means, plus each fold's accuracy and their spread. */
  l2Grid?: { l2: number; valAccuracy: number; valLoss: number; spread?: number; foldAccuracies?: number[] }[];
  /** How λ was chosen, when not on the held-back slice (e.g. "5-fold stratified cross-validation on 244 training images"). */
  l2Selection?: string;
  chosenL2?: number;
  /** Features method: whether train's features were loaded, or streamed from S3 for not fitting TL_FEATURE_MEMORY_BYTES. */
  featureHeadPath?: 'in-memory' | 'streamed';
  /** Fine-tuning: one record per stage. */
  stages?: StageRecord[];
  /** Why these stages, when they were chosen from the data size (no --stages). */
  stagePlan?: string;
  resumedFrom?: string;
  /** The backend it trained on, and why faster ones were passed over. */
  backend?: string;
}

/** Stored in a saved model's userDefinedMetadata so `tl predict` can prepare images alone. */
export interface PredictionMetadata {
  classNames: string[];
  inputSize: [number, number];
  channels: number;
  scaling: string;
  resize: 'cover' | 'contain' | 'fill';
  /** Images are decoded to this size, then resized to inputSize, as they were in training (`--stored-size`). */
  storedSize?: [number, number];
}

/** The size images are stored at: the backbone's input, or smaller with `--stored-size` (the aspect kept). */
export function storedImageSize(inputSize: [number, number], storedSize?: number): [number, number] {
  const longest = Math.max(...inputSize);
  if (!storedSize || storedSize >= longest) return inputSize;
  const scale = storedSize / longest;
  return [Math.max(1, Math.round(inputSize[0] * scale)), Math.max(1, Math.round(inputSize[1] * scale))];
}

export interface TransferRunResult {
  runId: string;
  chosenMethod: 'features' | 'finetune';
  heldOutAccuracy: number;
  methods: { method: string; heldOutAccuracy: number; selectionAccuracy: number; heldOutAccuracyTta?: number }[];
  modelKey: string;
  reportKeys: { json: string; html: string; markdown: string };
  /** Set when the run was asked to compete for champion (lib/store/promotion.ts). */
  promotion?: PromotionDecision;
}

/** What the evaluate step gets: every trained method, and what the earlier steps reported. */
export interface EvaluateTransferInput {
  runId: string;
  manifestKey: string;
  backbone: BackboneInfo;
  options: TransferOptions;
  methods: MethodResult[];
  ingest: { manifestKey: string; cached: boolean; cacheReason: string; seconds?: number; activities?: number };
  features: FeatureSummary;
  timings: Record<string, number>;
}

export interface FineTuneInput {
  runId: string;
  manifestKey: string;
  backbone: BackboneInfo;
  options: TransferOptions;
  /** Key of the logistic-regression head to start from, when the features method ran first. */
  warmStartHead?: string;
  /** Least seconds between the epoch records the activity sends its workflow (lib/progress.ts). */
  recordEverySeconds?: number;
}

export interface TrainFeatureHeadInput {
  runId: string;
  manifestKey: string;
  backbone: BackboneInfo;
  options: TransferOptions;
}

/** The `transferLearning` workflow's input. */
export interface TransferLearningInput extends RunRequest {
  options: TransferOptions;
  /** Task queue of the GPU workers (the CLI passes TL_TASK_QUEUE_GPU). */
  gpuTaskQueue: string;
}
