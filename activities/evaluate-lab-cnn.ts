// Activity: evaluates the trained model on the held-out test split and stores the run's
// report (JSON, HTML with pictures, Markdown) in S3.
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import { type EvaluateInput, type EvaluateResult, runKeys } from '../contracts';
import { loadManifest } from '../lib/data/dataset';
import { openSplitForScoring } from '../lib/data/shard-reader';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { allIndices, predictSplit } from '../lib/models/inference';
import { labLayerTable } from '../lib/models/lab-cnn';
import { classificationMetrics } from '../lib/metrics';
import { renderHtml, renderMarkdown } from '../lib/report/lab-cnn-page';
import { buildLabCnnReport } from '../lib/report/lab-cnn';
import { reportKeysOf, writeReport } from '../lib/report/write';
import { heartbeatProgress } from './progress';
import { firstMisclassified, thumbnails, workerEnvironment } from './report-data';

export function evaluateLabCnnActivity(deps: ActivityDeps) {
  return async function evaluateLabCnn(input: EvaluateInput): Promise<EvaluateResult> {
    const started = Date.now();
    const { store, backend, config } = deps();
    const manifest = await loadManifest(store, input.manifestKey);
    const test = openSplitForScoring(store, manifest, 'test', config.shardCacheBytes);
    heartbeatProgress({ step: 'evaluate', message: 'opened test split', fraction: 0 });
    const model = await tf.loadLayersModel(s3ModelIO(store, input.train.modelPrefix));
    const predictions = await predictSplit(model, test, allIndices(test.count), manifest.classNames.length, undefined, (done, total) => {
      heartbeatProgress({ step: 'evaluate', message: 'test images', done, total, fraction: (0.8 * done) / total });
    }).finally(() => model.dispose());
    const metrics = classificationMetrics(predictions.labels, predictions.predicted, manifest.classNames);
    const misclassified = firstMisclassified(predictions, manifest.classNames).map(({ index, ...m }) => ({ index, name: `test #${index}`, ...m }));
    heartbeatProgress({ step: 'evaluate', message: 'writing the report', fraction: 0.8 });
    const images = await thumbnails(test, misclassified);
    test.release();
    const report = buildLabCnnReport({
      input,
      dataset: manifest,
      test: { ...metrics, loss: predictions.loss, imagesPerSecond: predictions.imagesPerSecond },
      misclassified: misclassified.map(({ index: _index, ...m }) => m),
      layers: labLayerTable().map(({ outputShape: _shape, ...row }) => row),
      environment: workerEnvironment(backend),
      backend,
      // Up to here; storing the report takes a moment more.
      evaluateSeconds: (Date.now() - started) / 1000,
      createdAt: new Date().toISOString(),
    });
    const reportKeys = await writeReport(store, reportKeysOf(runKeys(input.runId)), report, { html: renderHtml, markdown: renderMarkdown }, images);
    return {
      testAccuracy: metrics.accuracy,
      macroF1: metrics.macroF1,
      testCount: test.count,
      reportKeys,
    };
  };
}
