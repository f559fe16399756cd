// The transfer-learning pipeline's options, activity inputs and results: keys and metrics only.
import type { PromotionDecision } from './promotion';
import type { StageRecord, StageSpec } from './records';

export type TransferMethod = 'both' | 'features' | 'finetune';

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
  features: FeatureShard[];
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
  features: FeatureShard[];
  options: TransferOptions;
}
