// Activity: evaluates every trained method on the same held-out split, chooses the better
// model (the run's output, saved under runs/<id>/model), and stores the side-by-side report.
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import type { EvaluateTransferInput, TransferRunResult } from '../contracts';
import { buildMethodReport, buildTransferReport, transferRunResult, type MethodReport } from '../lib/report/transfer';
import { loadManifest } from '../lib/data/dataset';
import { openSplitForScoring } from '../lib/data/shard-reader';
import { allIndices, predictSplit } from '../lib/models/inference';
import { forStoredImages, preprocessImages } from '../lib/models/backbone';
import { TTA_VIEWS, predictWithTta } from '../lib/models/tta';
import { classificationMetrics } from '../lib/metrics';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { heldOutSplit, transferKeys } from '../lib/transfer';
import { chooseMethod } from '../lib/training/choose-method';
import { renderTransferHtml } from '../lib/report/transfer-page';
import { renderTransferMarkdown } from '../lib/report/transfer-markdown';
import { reportKeysOf, writeReport } from '../lib/report/write';
import { heartbeatProgress } from './progress';
import { firstMisclassified, thumbnails, workerEnvironment } from './report-data';

export function evaluateTransferActivity(deps: ActivityDeps) {
  return async function evaluateTransfer(input: EvaluateTransferInput): Promise<TransferRunResult> {
    const started = Date.now();
    const { store, backend, config } = deps();
    const keys = transferKeys(input.runId);
    const manifest = await loadManifest(store, input.manifestKey);
    const split = heldOutSplit(manifest);
    const data = openSplitForScoring(store, manifest, split, config.shardCacheBytes);
    const paths = manifest.splits[split].shards.flatMap((s) => s.paths ?? new Array<string>(s.count).fill(s.images.key));
    const spec = forStoredImages(input.backbone, manifest.imageShape);
    const prepare = (images: Uint8Array, n: number) => preprocessImages(spec, images, n);

    const reports: MethodReport[] = [];
    const picks: { index: number; name: string }[] = [];
    const models = new Map<string, tf.LayersModel>();
    for (const method of input.methods) {
      const model = await tf.loadLayersModel(s3ModelIO(store, method.modelPrefix));
      models.set(method.method, model);
      // Each pass heartbeats per batch: with --tta a method is scored twice, the second pass several times slower.
      const passes = input.options.tta ? 2 : 1;
      const beat = (pass: number) => (done: number, total: number) => {
        const share = (reports.length + (pass + done / total) / passes) / input.methods.length;
        heartbeatProgress({ step: 'evaluate', message: `${method.method} on ${split}${pass ? ' (TTA)' : ''}`, done, total, fraction: 0.8 * share });
      };
      const predictions = await predictSplit(model, data, allIndices(data.count), manifest.classNames.length, prepare, beat(0));
      // With --tta the same images are scored again, averaged over flips and crops.
      const tta = input.options.tta ? await predictSplit(model, data, allIndices(data.count), manifest.classNames.length, prepare, beat(1), predictWithTta) : undefined;
      const wrong = firstMisclassified(predictions, manifest.classNames);
      picks.push(...wrong.map(({ index }) => ({ index, name: paths[index] })));
      reports.push(
        buildMethodReport(method, {
          split,
          metrics: classificationMetrics(predictions.labels, predictions.predicted, manifest.classNames),
          loss: predictions.loss,
          tta: tta && { accuracy: tta.accuracy, macroF1: classificationMetrics(tta.labels, tta.predicted, manifest.classNames).macroF1, loss: tta.loss, views: TTA_VIEWS.length },
          misclassified: wrong.map(({ index, ...m }) => ({ path: paths[index], ...m })),
        }),
      );
    }

    const chosen = chooseMethod(
      reports.map((r) => ({ method: r.method, label: r.label, heldOutAccuracy: r.heldOut.accuracy })),
      { split, count: data.count },
    );
    await models.get(chosen.method)!.save(s3ModelIO(store, keys.model));
    for (const model of models.values()) model.dispose();

    const report = buildTransferReport({
      input,
      manifest,
      heldOutSplit: split,
      methods: reports,
      chosen: { ...chosen, modelKey: `${keys.model}/model.json` },
      environment: workerEnvironment(backend),
      backend,
      evaluateSeconds: (Date.now() - started) / 1000,
      createdAt: new Date().toISOString(),
    });
    heartbeatProgress({ step: 'evaluate', message: 'writing the report', fraction: 0.8 });
    const images = await thumbnails(data, picks);
    data.release();
    const reportKeys = await writeReport(store, reportKeysOf(keys), report, { html: renderTransferHtml, markdown: renderTransferMarkdown }, images);
    return transferRunResult(report, reportKeys);
  };
}
