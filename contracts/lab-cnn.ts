// The lab-CNN pipeline's options, activity inputs and results: small JSON, never tensors.
import type { PromotionDecision } from './promotion';
import type { EpochRecord } from './records';

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
  /** Set when the run was asked to compete for champion (lib/store/promotion.ts). */
  promotion?: PromotionDecision;
}
