// The lab-CNN pipeline's options, activity inputs and results: small JSON, never tensors.
import { z } from 'zod';
import { flag, seedField } from './options';
import type { PromotionDecision, RunRequest } from './promotion';
import type { EpochRecord } from './records';

/** Kernel initialisations of the lab CNN's convolutions and dense layer. */
export const LAB_CNN_INITS = ['he-normal', 'fan-in-uniform'] as const;
export type LabCnnInit = (typeof LAB_CNN_INITS)[number];
/** Unset `init` means this, in the model and in the report (runs stored before the option replay unchanged). */
export const DEFAULT_LAB_CNN_INIT: LabCnnInit = 'he-normal';

/**
 * The lab-CNN pipeline's options. Each flagged field is a `tl run lab-cnn` option; the workflow
 * parses its input with this schema, so a value out of range never reaches an activity.
 */
export const LabCnnOptionsSchema = z.object({
  epochs: flag(z.number().int().min(1).max(1000).default(10), '--epochs <n>', 'training epochs'),
  // 28×28 images: a batch of thousands still fits in memory.
  batchSize: flag(z.number().int().min(1).max(8192).default(64), '--batch-size <n>', 'mini-batch size'),
  /** Train on a seeded subset of this many training images (train + validation). */
  limit: flag(z.number().int().min(20).max(60000).optional(), '--limit <n>', 'train on a seeded subset of this many training images'),
  seed: seedField(),
  learningRate: flag(z.number().min(1e-7).max(1).default(0.001), '--learning-rate <x>', 'Adam learning rate of the first epoch'),
  /** Each epoch's learning rate is the previous one's times this (1 = constant). */
  learningRateDecay: flag(z.number().min(0.01).max(1).default(0.9), '--lr-decay <x>', 'per-epoch learning-rate factor (1 = constant)'),
  /** Per-step warm-up then cosine decay over the whole run (lib/training/lr-schedule.ts), instead of --lr-decay. */
  lrSchedule: flag(z.enum(['exponential', 'warmup-cosine']).optional(), '--lr-schedule <schedule>', 'exponential (per epoch, --lr-decay) or warmup-cosine (per step over the whole run); default exponential'),
  /** Random horizontal flips of training images (seeded). */
  augment: flag(z.boolean().default(false), '--augment', 'random horizontal flips of training images'),
  /** Random shifts of training images by up to this many pixels each way (seeded; 0 = none). */
  shift: flag(z.number().int().min(0).max(8).optional(), '--shift <px>', 'random shifts of training images by up to this many pixels (default 0)'),
  /** Probability of random erasing: one rectangle of 2–20% of the image set to 0 (seeded; 0 = none). */
  erase: flag(z.number().min(0).max(1).optional(), '--erase <p>', 'probability of erasing a random rectangle of each training image (default 0)'),
  /** Label smoothing ε: targets (1 − ε)·one-hot + ε/k (0 = none). */
  labelSmoothing: flag(z.number().min(0).max(0.5).optional(), '--label-smoothing <x>', 'label smoothing of the training targets (default 0)'),
  /**
   * How the convolution and dense kernels start: he-normal (std √(2/fan-in)), or fan-in-uniform
   * (uniform ±1/√fan-in, PyTorch's default for these layers).
   */
  init: flag(z.enum(LAB_CNN_INITS).optional(), '--init <scheme>', `kernel initialisation: ${LAB_CNN_INITS.join(' or ')} (default ${DEFAULT_LAB_CNN_INIT})`),
  validationFraction: flag(z.number().min(0.01).max(0.5).default(0.05), '--validation-fraction <x>', 'share of the training images held out for validation'),
  /** Directory, http(s) base URL, `canonical`, or s3://bucket/prefix. Default: TL_FASHION_MNIST_DIR. */
  source: flag(z.string().min(1).optional(), '--source <dir|url|s3://bucket/prefix>', 'where the Fashion-MNIST IDX files are (default: TL_FASHION_MNIST_DIR)'),
});

export type LabCnnOptions = z.output<typeof LabCnnOptionsSchema>;

export const LAB_CNN_DEFAULTS: LabCnnOptions = LabCnnOptionsSchema.parse({});

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
  /** Set when the run was asked to compete for champion (lib/store/promotion.ts). */
  promotion?: PromotionDecision;
}

/** The `trainLabCnn` workflow's input. */
export interface TrainLabCnnInput extends RunRequest {
  options: LabCnnOptions;
}
