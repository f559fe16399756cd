// The small JSON values that cross workflow history: inputs, keys, metrics. Never tensors or images.
import type { EpochRecord } from './report';
import type { StageRecord } from './transfer-types';
import type { Stage } from './models/fine-tune';

export interface LabCnnOptions {
  /** --source: directory, http(s) base URL, `canonical`, or s3://bucket/prefix. Default: TL_FASHION_MNIST_DIR. */
  source?: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Each epoch's learning rate is the previous one's times this (1 = constant). */
  learningRateDecay: number;
  /** Random horizontal flips of training images (seeded). */
  augment: boolean;
  seed: number;
  validationFraction: number;
  /** Train on a seeded subset of this many training images (train + validation). */
  limit?: number;
}

export const LAB_CNN_DEFAULTS: LabCnnOptions = {
  epochs: 10,
  batchSize: 64,
  learningRate: 0.001,
  learningRateDecay: 0.9,
  augment: false,
  seed: 42,
  validationFraction: 0.05,
};

export interface IngestResult {
  manifestKey: string;
  datasetSha256: string;
  cached: boolean;
  counts: Record<string, number>;
  classNames: string[];
  seconds: number;
}

export interface TrainInput {
  runId: string;
  manifestKey: string;
  options: LabCnnOptions;
  /** Least seconds between the epoch records the activity sends its workflow (lib/progress.ts). */
  recordEverySeconds?: number;
}

export interface TrainResult {
  modelPrefix: string;
  history: EpochRecord[];
  resumedFromEpoch: number;
  trainCount: number;
  validationCount: number;
  seconds: number;
  imagesPerSecond: number;
  backend: string;
}

export interface EvaluateInput {
  runId: string;
  manifestKey: string;
  options: LabCnnOptions;
  ingest: IngestResult;
  train: TrainResult;
  timings: Record<string, number>;
}

export interface EvaluateResult {
  testAccuracy: number;
  macroF1: number;
  testCount: number;
  reportKeys: { json: string; html: string; markdown: string };
}

export interface LabCnnRunResult {
  runId: string;
  manifestKey: string;
  modelKey: string;
  testAccuracy: number;
  macroF1: number;
  reportKeys: EvaluateResult['reportKeys'];
  history: EpochRecord[];
  resumedFromEpoch: number;
  /** Set when the run was asked to compete for champion (lib/promotion.ts). */
  promotion?: PromotionDecision;
}

// ---- model registry (lib/registry.ts) ----

/** What a pipeline needs to compete for champion of a model name. */
export interface PromotionOptions {
  modelName: string;
  /** Accuracy gain over the champion needed to replace it (0.005 = half a point). */
  margin: number;
}

/** A run's promotion step's verdict, returned in the run's result. */
export interface PromotionDecision {
  modelName: string;
  promoted: boolean;
  reason: string;
  margin: number;
  /** The held-out set both models were scored on: the challenger's. */
  heldOut: { manifestKey: string; split: string; count: number };
  challenger: { runId: string; accuracy: number; macroF1: number };
  /** The champion at decision time (scores absent when it could not be compared). */
  champion: { runId: string; accuracy?: number; macroF1?: number } | null;
  comparable: boolean;
  /** The registry event that recorded the decision. */
  seq: number;
}

/**
 * A run's progress as the workflow records it (the `progress` query): the step, and the detail
 * recorded at step and epoch boundaries. Clients fold in the running activities' heartbeats
 * (lib/progress.ts) for the live numbers.
 */
export interface RunProgress {
  pipeline: string;
  /** 'starting', one of `steps`, 'done' or 'failed'. */
  step: string;
  steps: string[];
  /** Expected work of each step (training image passes, see lib/progress.ts): weighs the steps. */
  work?: Record<string, number>;
  detail?: StepProgress;
  testAccuracy?: number;
}

/** Where a step is: carried by every activity heartbeat, and recorded by the workflow at boundaries. */
export interface StepProgress {
  step: string;
  /** Share of the activity's expected work done, 0..1 (images × epochs when it trains). */
  fraction?: number;
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  loss?: number;
  accuracy?: number;
  valAccuracy?: number;
  imagesPerSecond?: number;
  /** Items done out of total within one activity (images predicted, shards written). */
  done?: number;
  total?: number;
  /** Fanned-out steps: how many of the step's parallel activities have finished. */
  activities?: { finished: number; total: number };
  message?: string;
}

/**
 * A run's id in S3 and in reports: its workflow id without ':'. Scheduled runs get workflow ids
 * ending in an RFC 3339 time (`…-2025-01-02T03:04:05Z`), and ':' is not allowed in artifact keys.
 */
export const runIdFor = (workflowId: string): string => workflowId.replaceAll(':', '');

/** Where a run keeps its artifacts. */
export const runKeys = (runId: string) => ({
  checkpoint: (epoch: number) => `runs/${runId}/checkpoints/epoch-${String(epoch).padStart(3, '0')}`,
  model: `runs/${runId}/model`,
  reportJson: `runs/${runId}/report/report.json`,
  reportHtml: `runs/${runId}/report/report.html`,
  reportMarkdown: `runs/${runId}/report/report.md`,
});

// ---- transfer learning ----

export type TransferMethod = 'both' | 'features' | 'finetune';

/** One fine-tuning stage: what is trainable, for how long, how fast (lib/models/fine-tune.ts). */
export type StageSpec = Stage;

export interface TransferOptions {
  /** Image folder: a directory, s3://bucket/prefix, or a .zip/.tar.gz. */
  data: string;
  /** A registered backbone's name, or a tfjs Layers model: a local path, s3://bucket/prefix or an http(s) URL. */
  backbone: string;
  cutLayer?: string;
  method: TransferMethod;
  stages?: StageSpec[];
  resize: 'cover' | 'contain' | 'fill';
  seed: number;
  /** Share of the training split held back to choose L2 and to stop fine-tuning early. */
  validationFraction: number;
  batchSize: number;
  augment: boolean;
  patience: number;
  shardSize: number;
  maxPixels: number;
  /** Also score the held-out images with test-time augmentation (flip, centre and corner crops). */
  tta?: boolean;
  /** Per-step learning rates within each stage (lib/training/lr-schedule.ts); default constant. */
  lrSchedule?: 'constant' | 'warmup-cosine';
  /** Label smoothing ε for fine-tuning; default 0. */
  labelSmoothing?: number;
  /** Discriminative learning rates: deeper trained layers at ×d and ×d² (lib/models/fine-tune.ts); default 1 (off). */
  layerDecay?: number;
}

export const TRANSFER_DEFAULTS: Omit<TransferOptions, 'data' | 'backbone'> = {
  method: 'both',
  resize: 'cover',
  seed: 42,
  validationFraction: 0.2,
  batchSize: 32,
  augment: true,
  patience: 3,
  shardSize: 128,
  maxPixels: 50_000_000,
};

export interface BackboneInfo {
  /** Where the model is read from (a registered backbone: its copy in S3). */
  source: string;
  /** Set when the run named a registered backbone (lib/backbone-registry.ts). */
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
  profile?: { readSeconds: number; computeSeconds: number; writeSeconds: number };
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
}
