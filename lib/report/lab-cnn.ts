// The lab-CNN run report document (report.json), and how it is built from the run's results.
import type { ClassificationMetrics } from '../metrics';
import { DEFAULT_LAB_CNN_INIT, LAB_CNN_STEPS, runKeys, type EpochRecord, type EvaluateInput } from '../../contracts';
import type { MisclassifiedImage } from './gallery';
import { joinStepTimings, type CacheDecision, type EvaluationFacts, type StepTiming } from './run-details';

export interface LayerRow {
  layer: string;
  input: string;
  F: number | null;
  S: number | null;
  P: number | null;
  output: string;
  params: number;
}

export interface RunReport {
  runId: string;
  pipeline: string;
  title: string;
  createdAt: string;
  dataset: { name: string; manifestKey: string; train: number; validation: number; test: number };
  config: Record<string, string | number | boolean>;
  /** backend, node and tfjs versions, seed... */
  environment: Record<string, string | number>;
  classNames: string[];
  history: EpochRecord[];
  test: ClassificationMetrics & { loss?: number; imagesPerSecond?: number };
  layers?: LayerRow[];
  /** artifact name -> S3 key */
  artifacts: Record<string, string>;
  /** step -> seconds, as the workflow measured them */
  timings: Record<string, number>;
  /** Seconds per step measured on the workers, next to the workflow's wall time. */
  steps?: StepTiming[];
  /** Which steps reused stored artifacts, and under which key. */
  cache?: CacheDecision[];
  /** Up to a few dozen misclassified test images, in test-set order. */
  misclassified?: MisclassifiedImage[];
}

/** What the evaluate activity measured and read, besides the run's own input. */
export interface LabCnnEvaluation extends EvaluationFacts {
  input: EvaluateInput;
  dataset: { name: string; classNames: string[] };
  test: ClassificationMetrics & { loss: number; imagesPerSecond: number };
  misclassified: MisclassifiedImage[];
  layers: LayerRow[];
}

/** The lab-CNN report document: a pure function of the run's results. */
export function buildLabCnnReport(e: LabCnnEvaluation): RunReport {
  const { input, test } = e;
  const { train, ingest, options } = input;
  const keys = runKeys(input.runId);
  return {
    runId: input.runId,
    pipeline: 'lab-cnn',
    title: `Lab CNN on ${e.dataset.name}`,
    createdAt: e.createdAt,
    dataset: { name: e.dataset.name, manifestKey: input.manifestKey, train: train.trainCount, validation: train.validationCount, test: test.count },
    config: {
      epochs: options.epochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      learningRateSchedule: options.lrSchedule ?? 'exponential',
      learningRateDecay: options.lrSchedule === 'warmup-cosine' ? 'n/a' : (options.learningRateDecay ?? 1),
      augment: options.augment ?? false,
      shift: options.shift ?? 0,
      erase: options.erase ?? 0,
      labelSmoothing: options.labelSmoothing ?? 0,
      init: options.init ?? DEFAULT_LAB_CNN_INIT,
      validationFraction: options.validationFraction,
      limit: options.limit ?? 'none',
      resumedFromEpoch: train.resumedFromEpoch,
      ingestionCached: ingest.cached,
    },
    environment: { ...e.environment, trainBackend: train.backend, seed: options.seed, trainImagesPerSecond: Math.round(train.imagesPerSecond) },
    classNames: e.dataset.classNames,
    history: train.history,
    test,
    layers: e.layers,
    artifacts: {
      dataset: input.manifestKey,
      model: `${train.modelPrefix}/model.json`,
      reportJson: keys.reportJson,
      reportHtml: keys.reportHtml,
      reportMarkdown: keys.reportMarkdown,
    },
    timings: { ...input.timings },
    cache: [
      {
        step: 'ingest',
        cached: ingest.cached,
        key: ingest.manifestKey,
        reason: ingest.cached ? 'these source files were ingested before: their manifest was reused' : 'first ingestion of these source files',
      },
      train.resumedFromEpoch > 0
        ? { step: 'train', cached: true, key: keys.checkpoint(train.resumedFromEpoch), reason: `a retried attempt resumed from the epoch ${train.resumedFromEpoch} checkpoint` }
        : { step: 'train', cached: false, key: train.modelPrefix, reason: 'trained from scratch' },
    ],
    steps: joinStepTimings(
      LAB_CNN_STEPS,
      {
        ingest: { seconds: ingest.seconds, activities: 1 },
        train: { seconds: train.seconds, activities: 1, backend: train.backend },
        evaluate: { seconds: e.evaluateSeconds, activities: 1, backend: e.backend },
      },
      input.timings,
    ),
    misclassified: e.misclassified,
  };
}
