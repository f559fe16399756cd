// Activity: evaluates the trained model on the held-out test split and stores the run's
// report (JSON, HTML with pictures, Markdown) in S3.
import { Context } from '@temporalio/activity';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import type { EvaluateInput, EvaluateResult } from '../lib/pipeline-types';
import { runKeys } from '../lib/pipeline-types';
import { loadManifest, loadSplit } from '../lib/dataset';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { allIndices, predictSplit } from '../lib/models/inference';
import { labLayerTable } from '../lib/models/lab-cnn';
import { classificationMetrics } from '../lib/metrics';
import { renderHtml, renderMarkdown, type RunReport } from '../lib/report';
import { failFastOnBadInput } from './errors';

export function evaluateLabCnnActivity(deps: ActivityDeps) {
  return async function evaluateLabCnn(input: EvaluateInput): Promise<EvaluateResult> {
    return failFastOnBadInput(async () => {
      const { store, backend } = deps();
      const ctx = Context.current();
      const keys = runKeys(input.runId);
      const manifest = await loadManifest(store, input.manifestKey);
      const test = await loadSplit(store, manifest, 'test');
      ctx.heartbeat({ message: 'loaded test split' });
      const model = await tf.loadLayersModel(s3ModelIO(store, input.train.modelPrefix));
      const predictions = await predictSplit(model, test, allIndices(test.count), manifest.classNames.length);
      model.dispose();
      const metrics = classificationMetrics(predictions.labels, predictions.predicted, manifest.classNames);

      const report: RunReport = {
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
          backend,
          tfjs: tf.version.tfjs,
          node: process.version,
          seed: input.options.seed,
          trainImagesPerSecond: Math.round(input.train.imagesPerSecond),
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
        timings: { ...input.timings, evaluate: predictions.seconds },
      };
      await store.putJson(keys.reportJson, report);
      await store.putBytes(keys.reportMarkdown, Buffer.from(renderMarkdown(report)), 'text/markdown; charset=utf-8');
      await store.putBytes(keys.reportHtml, Buffer.from(renderHtml(report)), 'text/html; charset=utf-8');
      return {
        testAccuracy: metrics.accuracy,
        macroF1: metrics.macroF1,
        testCount: test.count,
        reportKeys: { json: keys.reportJson, html: keys.reportHtml, markdown: keys.reportMarkdown },
      };
    });
  };
}
