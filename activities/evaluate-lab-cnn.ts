// Activity: evaluates the trained model on the held-out test split and stores the run's
// report (JSON, HTML with pictures, Markdown) in S3.
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import { type EvaluateInput, type EvaluateResult, LAB_CNN_STEPS, runKeys } from '../contracts';
import { loadManifest, loadSplit } from '../lib/data/dataset';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { allIndices, predictSplit } from '../lib/models/inference';
import { labLayerTable } from '../lib/models/lab-cnn';
import { classificationMetrics } from '../lib/metrics';
import { renderHtml, renderMarkdown, type RunReport } from '../lib/report/lab-cnn';
import { joinStepTimings } from '../lib/report/run-details';
import { heartbeatProgress } from './progress';
import { firstMisclassified, thumbnails, workerEnvironment } from './report-data';

export function evaluateLabCnnActivity(deps: ActivityDeps) {
  return async function evaluateLabCnn(input: EvaluateInput): Promise<EvaluateResult> {
    const started = Date.now();
    const { store, backend } = deps();
    const keys = runKeys(input.runId);
    const manifest = await loadManifest(store, input.manifestKey);
    const test = await loadSplit(store, manifest, 'test');
    heartbeatProgress({ step: 'evaluate', message: 'loaded test split', fraction: 0 });
    const model = await tf.loadLayersModel(s3ModelIO(store, input.train.modelPrefix));
    const predictions = await predictSplit(model, test, allIndices(test.count), manifest.classNames.length, undefined, (done, total) => {
      heartbeatProgress({ step: 'evaluate', message: 'test images', done, total, fraction: (0.8 * done) / total });
    });
    model.dispose();
    const metrics = classificationMetrics(predictions.labels, predictions.predicted, manifest.classNames);
    const misclassified = firstMisclassified(predictions, manifest.classNames).map(({ index, ...m }) => ({ index, name: `test #${index}`, ...m }));
    heartbeatProgress({ step: 'evaluate', message: 'writing the report', fraction: 0.8 });
    const images = await thumbnails(test, misclassified);
    const { train, ingest } = input;

    const runReport: RunReport = {
      runId: input.runId,
      pipeline: 'lab-cnn',
      title: `Lab CNN on ${manifest.name}`,
      createdAt: new Date().toISOString(),
      dataset: {
        name: manifest.name,
        manifestKey: input.manifestKey,
        train: input.train.trainCount,
        validation: input.train.validationCount,
        test: test.count,
      },
      config: {
        epochs: input.options.epochs,
        batchSize: input.options.batchSize,
        learningRate: input.options.learningRate,
        learningRateDecay: input.options.learningRateDecay ?? 1,
        augment: input.options.augment ?? false,
        validationFraction: input.options.validationFraction,
        limit: input.options.limit ?? 'none',
        resumedFromEpoch: input.train.resumedFromEpoch,
        ingestionCached: input.ingest.cached,
      },
      environment: {
        ...workerEnvironment(backend),
        trainBackend: train.backend,
        seed: input.options.seed,
        trainImagesPerSecond: Math.round(train.imagesPerSecond),
      },
      classNames: manifest.classNames,
      history: input.train.history,
      test: { ...metrics, loss: predictions.loss, imagesPerSecond: predictions.imagesPerSecond },
      layers: labLayerTable().map(({ outputShape: _shape, ...row }) => row),
      artifacts: {
        dataset: input.manifestKey,
        model: `${input.train.modelPrefix}/model.json`,
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
          // Up to here; storing the report takes a moment more.
          evaluate: { seconds: (Date.now() - started) / 1000, activities: 1, backend },
        },
        input.timings,
      ),
      misclassified: misclassified.map(({ index: _index, ...m }) => m),
    };
    await store.putJson(keys.reportJson, runReport);
    await store.putBytes(keys.reportMarkdown, Buffer.from(renderMarkdown(runReport)), 'text/markdown; charset=utf-8');
    await store.putBytes(keys.reportHtml, Buffer.from(renderHtml(runReport, images)), 'text/html; charset=utf-8');
    return {
      testAccuracy: metrics.accuracy,
      macroF1: metrics.macroF1,
      testCount: test.count,
      reportKeys: { json: keys.reportJson, html: keys.reportHtml, markdown: keys.reportMarkdown },
    };
  };
}
