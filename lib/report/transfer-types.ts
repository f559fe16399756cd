// The transfer-learning report document (report.json): both methods side by side, and the choice.
import type { ClassificationMetrics } from '../metrics';
import type { BackboneInfo, StageRecord } from '../../contracts';
import type { CacheDecision, StepTiming } from './run-details';

export interface MethodReport {
  method: 'features' | 'finetune';
  label: string; // "Feature extraction + logistic regression", "Fine-tuning"
  modelKey: string;
  heldOut: ClassificationMetrics & { split: string; loss?: number };
  /** The same held-out images with test-time augmentation (lib/models/tta.ts), when asked for. */
  heldOutTta?: { accuracy: number; macroF1: number; loss: number; views: number };
  selectionAccuracy: number; // on the held-back part of train, used for choices (L2, early stopping)
  trainSeconds: number;
  imagesPerSecond: number;
  /** L2 grid for the LR head: l2 → selection accuracy. */
  /** With cross-validation: fold means, plus each fold's accuracy and their spread. */
  l2Grid?: { l2: number; valAccuracy: number; valLoss: number; spread?: number; foldAccuracies?: number[] }[];
  /** How λ was chosen, when not on the held-back slice (e.g. "5-fold stratified cross-validation on 244 training images"). */
  l2Selection?: string;
  chosenL2?: number;
  stages?: StageRecord[];
  /** Why these stages, when they were chosen from the data size (no --stages). */
  stagePlan?: string;
  /** Set when a retried fine-tuning attempt resumed from a checkpoint. */
  resumedFrom?: string;
  /** Up to ~24 misclassified held-out images: source path, true and predicted class. */
  misclassified: { path: string; trueClass: string; predictedClass: string; probability: number }[];
}

export interface TransferReport {
  runId: string;
  title: string;
  createdAt: string;
  dataset: {
    manifestKey: string;
    classNames: string[];
    counts: Record<string, number>; // per split
    heldOutSplit: string;
    rejected: { path: string; reason: string }[];
    duplicates: { sha256: string; paths: string[] }[];
    crossSplit: { sha256: string; paths: string[] }[];
  };
  backbone: BackboneInfo;
  cache: CacheDecision[];
  methods: MethodReport[];
  chosen: { method: 'features' | 'finetune'; reason: string; modelKey: string };
  config: Record<string, string | number | boolean>;
  environment: Record<string, string | number>;
  /** step -> seconds, as the workflow measured them */
  timings: Record<string, number>;
  /** Seconds per step measured on the workers, next to the workflow's wall time. */
  steps?: StepTiming[];
}
