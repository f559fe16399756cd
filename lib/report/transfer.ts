// The transfer-learning report document (report.json): both methods side by side, and the
// choice; and how it is built from the run's results.
import type { ClassificationMetrics } from '../metrics';
import { TRANSFER_STEPS, FINE_TUNE_LABEL_SMOOTHING, type BackboneInfo, type EvaluateTransferInput, type MethodResult, type TransferRunResult } from '../../contracts';
import type { DatasetManifest } from '../data/dataset';
import { featurePrefix } from '../data/features';
import { joinStepTimings, type CacheDecision, type EvaluationFacts, type StepTiming } from './run-details';

/** A method's section of the report: what its training returned, plus how it scored held out. */
export interface MethodReport
  extends Pick<MethodResult, 'method' | 'selectionAccuracy' | 'trainSeconds' | 'imagesPerSecond' | 'l2Grid' | 'l2Selection' | 'chosenL2' | 'stages' | 'stagePlan' | 'resumedFrom'> {
  label: string; // "Feature extraction + logistic regression", "Fine-tuning"
  modelKey: string;
  heldOut: ClassificationMetrics & { split: string; loss?: number };
  /** The same held-out images with test-time augmentation (lib/models/tta.ts), when asked for. */
  heldOutTta?: { accuracy: number; macroF1: number; loss: number; views: number };
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

const METHOD_LABELS = { features: 'Feature extraction + logistic regression', finetune: 'Fine-tuning' } as const;

/** How one method scored on the held-out split. */
export interface HeldOutScores {
  split: string;
  metrics: ClassificationMetrics;
  loss: number;
  tta?: MethodReport['heldOutTta'];
  misclassified: MethodReport['misclassified'];
}

/** A method's section of the report: what it trained (from its result) and how it scored. */
export function buildMethodReport(method: MethodResult, scores: HeldOutScores): MethodReport {
  return {
    method: method.method,
    label: METHOD_LABELS[method.method],
    modelKey: `${method.modelPrefix}/model.json`,
    heldOut: { ...scores.metrics, split: scores.split, loss: scores.loss },
    ...(scores.tta ? { heldOutTta: scores.tta } : {}),
    selectionAccuracy: method.selectionAccuracy,
    trainSeconds: method.trainSeconds,
    imagesPerSecond: method.imagesPerSecond,
    l2Grid: method.l2Grid,
    chosenL2: method.chosenL2,
    l2Selection: method.l2Selection,
    stages: method.stages,
    stagePlan: method.stagePlan,
    resumedFrom: method.resumedFrom,
    misclassified: scores.misclassified,
  };
}

/** What the evaluate activity measured and read, besides the run's own input. */
export interface TransferEvaluation extends EvaluationFacts {
  input: EvaluateTransferInput;
  manifest: Pick<DatasetManifest, 'name' | 'classNames' | 'splits' | 'quality'>;
  heldOutSplit: string;
  methods: MethodReport[];
  chosen: TransferReport['chosen'];
}

/** The transfer report document: a pure function of the run's results. */
export function buildTransferReport(e: TransferEvaluation): TransferReport {
  const { input, manifest } = e;
  const { options, backbone, features } = input;
  return {
    runId: input.runId,
    title: `Transfer learning: ${manifest.classNames.join(' vs ')}`,
    createdAt: e.createdAt,
    dataset: {
      manifestKey: input.manifestKey,
      classNames: manifest.classNames,
      counts: Object.fromEntries(Object.entries(manifest.splits).map(([k, v]) => [k, v.count])),
      heldOutSplit: e.heldOutSplit,
      rejected: manifest.quality?.rejected ?? [],
      duplicates: manifest.quality?.duplicates ?? [],
      crossSplit: manifest.quality?.crossSplit ?? [],
    },
    backbone,
    cache: [
      { step: 'ingest', cached: input.ingest.cached, key: input.manifestKey, reason: input.ingest.cacheReason },
      {
        step: 'extract',
        cached: features.cached === features.shards,
        key: featurePrefix(input.manifestKey, backbone),
        reason: `${features.cached} of ${features.shards} feature shards were already stored for (dataset ${manifest.name}, backbone ${backbone.sha256.slice(0, 12)}, cut ${backbone.cutLayer}, ${backbone.inputSize.join('×')} ${backbone.scaling})`,
      },
      ...input.methods.map((m) =>
        m.resumedFrom
          ? { step: m.method, cached: true, key: m.resumedFrom, reason: 'a retried attempt resumed from this checkpoint' }
          : { step: m.method, cached: false, key: m.modelPrefix, reason: 'trained in this run' },
      ),
    ],
    methods: e.methods,
    chosen: e.chosen,
    config: {
      method: options.method,
      seed: options.seed,
      validationFraction: options.validationFraction,
      batchSize: options.batchSize,
      augment: options.augment,
      patience: options.patience,
      resize: options.resize,
      tta: options.tta ?? false,
      lrSchedule: options.lrSchedule ?? 'constant',
      labelSmoothing: options.labelSmoothing ?? FINE_TUNE_LABEL_SMOOTHING,
      layerDecay: options.layerDecay ?? 1,
    },
    environment: { ...e.environment, seed: options.seed },
    timings: input.timings,
    steps: joinStepTimings(
      TRANSFER_STEPS,
      {
        ingest: input.ingest.seconds !== undefined ? { seconds: input.ingest.seconds, activities: input.ingest.activities ?? 1 } : undefined,
        extract: {
          seconds: features.seconds,
          activities: features.shards,
          backend: features.backends.join(' / ') || undefined,
          breakdown: features.profile && { s3Read: features.profile.readSeconds, compute: features.profile.computeSeconds, s3Write: features.profile.writeSeconds },
        },
        ...Object.fromEntries(input.methods.map((m) => [m.method, { seconds: m.trainSeconds, activities: 1, backend: m.backend }])),
        evaluate: { seconds: e.evaluateSeconds, activities: 1, backend: e.backend },
      },
      input.timings,
    ),
  };
}

/** The run's result as the workflow returns it: the choice and each method's scores. */
export function transferRunResult(report: TransferReport, reportKeys: TransferRunResult['reportKeys']): TransferRunResult {
  const chosen = report.methods.find((m) => m.method === report.chosen.method)!;
  return {
    runId: report.runId,
    chosenMethod: report.chosen.method,
    heldOutAccuracy: chosen.heldOut.accuracy,
    methods: report.methods.map((r) => ({ method: r.method, heldOutAccuracy: r.heldOut.accuracy, selectionAccuracy: r.selectionAccuracy, ...(r.heldOutTta ? { heldOutAccuracyTta: r.heldOutTta.accuracy } : {}) })),
    modelKey: report.chosen.modelKey,
    reportKeys,
  };
}
