// Activity: evaluates every trained method on the same held-out split, chooses the better
// model (the run's output, saved under runs/<id>/model), and stores the side-by-side report.
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import { type BackboneInfo, type FeatureShard, type MethodResult, type TransferOptions, TRANSFER_STEPS, type TransferRunResult } from '../contracts';
import type { MethodReport, TransferReport } from '../lib/report/transfer-types';
import { loadManifest, loadSplit } from '../lib/data/dataset';
import { allIndices, predictSplit } from '../lib/models/inference';
import { preprocessImages } from '../lib/models/backbone';
import { TTA_VIEWS, predictWithTta } from '../lib/models/tta';
import { classificationMetrics } from '../lib/metrics';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { heldOutSplit, transferKeys } from '../lib/transfer';
import { featurePrefix } from '../lib/data/features';
import { joinStepTimings } from '../lib/report/run-details';
import { renderTransferHtml, renderTransferMarkdown } from '../lib/report/transfer';
import { heartbeatProgress } from './progress';
import { firstMisclassified, thumbnails, workerEnvironment } from './report-data';

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

const LABELS = { features: 'Feature extraction + logistic regression', finetune: 'Fine-tuning' } as const;

export function evaluateTransferActivity(deps: ActivityDeps) {
  return async function evaluateTransfer(input: EvaluateTransferInput): Promise<TransferRunResult> {
    const started = Date.now();
    const { store, backend } = deps();
    const keys = transferKeys(input.runId);
    const manifest = await loadManifest(store, input.manifestKey);
    const split = heldOutSplit(manifest);
    const data = await loadSplit(store, manifest, split);
    const paths = manifest.splits[split].shards.flatMap((s) => s.paths ?? new Array<string>(s.count).fill(s.images.key));
    const prepare = (images: Uint8Array, n: number) => preprocessImages(input.backbone, images, n);

    const reports: MethodReport[] = [];
    const picks: { index: number; name: string }[] = [];
    const models = new Map<string, tf.LayersModel>();
    for (const method of input.methods) {
      const model = await tf.loadLayersModel(s3ModelIO(store, method.modelPrefix));
      models.set(method.method, model);
      const predictions = await predictSplit(model, data, allIndices(data.count), manifest.classNames.length, prepare, (done, total) => {
        const share = (reports.length + done / total) / input.methods.length;
        heartbeatProgress({ step: 'evaluate', message: `${method.method} on ${split}`, done, total, fraction: 0.8 * share });
      });
      const metrics = classificationMetrics(predictions.labels, predictions.predicted, manifest.classNames);
      // With --tta the same images are scored again, averaged over flips and crops.
      const tta = input.options.tta ? await predictSplit(model, data, allIndices(data.count), manifest.classNames.length, prepare, undefined, predictWithTta) : undefined;
      const wrong = firstMisclassified(predictions, manifest.classNames);
      picks.push(...wrong.map(({ index }) => ({ index, name: paths[index] })));
      const misclassified = wrong.map(({ index, ...m }) => ({ path: paths[index], ...m }));
      reports.push({
        method: method.method,
        label: LABELS[method.method],
        modelKey: `${method.modelPrefix}/model.json`,
        heldOut: { ...metrics, split, loss: predictions.loss },
        ...(tta ? { heldOutTta: { accuracy: tta.accuracy, macroF1: classificationMetrics(tta.labels, tta.predicted, manifest.classNames).macroF1, loss: tta.loss, views: TTA_VIEWS.length } } : {}),
        selectionAccuracy: method.selectionAccuracy,
        trainSeconds: method.trainSeconds,
        imagesPerSecond: method.imagesPerSecond,
        l2Grid: method.l2Grid,
        chosenL2: method.chosenL2,
        l2Selection: method.l2Selection,
        stages: method.stages,
        stagePlan: method.stagePlan,
        resumedFrom: method.resumedFrom,
        misclassified,
      });
    }

    // Higher held-out accuracy wins; on a tie the cheaper features method does.
    const ranked = [...reports].sort((a, b) => b.heldOut.accuracy - a.heldOut.accuracy || (a.method === 'features' ? -1 : 1));
    const winner = ranked[0];
    const reason =
      ranked.length === 1
        ? `only ${winner.label.toLowerCase()} ran`
        : `${(winner.heldOut.accuracy * 100).toFixed(1)}% vs ${(ranked[1].heldOut.accuracy * 100).toFixed(1)}% held-out accuracy on ${split} (${data.count} images)`;
    const chosenModel = models.get(winner.method)!;
    await chosenModel.save(s3ModelIO(store, keys.model));
    for (const model of models.values()) model.dispose();

    const cachedShards = input.features.filter((f) => f.cached).length;
    const report: TransferReport = {
      runId: input.runId,
      title: `Transfer learning: ${manifest.classNames.join(' vs ')}`,
      createdAt: new Date().toISOString(),
      dataset: {
        manifestKey: input.manifestKey,
        classNames: manifest.classNames,
        counts: Object.fromEntries(Object.entries(manifest.splits).map(([k, v]) => [k, v.count])),
        heldOutSplit: split,
        rejected: manifest.quality?.rejected ?? [],
        duplicates: manifest.quality?.duplicates ?? [],
        crossSplit: manifest.quality?.crossSplit ?? [],
      },
      backbone: input.backbone,
      cache: [
        { step: 'ingest', cached: input.ingest.cached, key: input.manifestKey, reason: input.ingest.cacheReason },
        {
          step: 'extract',
          cached: cachedShards === input.features.length,
          key: featurePrefix(input.manifestKey, input.backbone),
          reason: `${cachedShards} of ${input.features.length} feature shards were already stored for (dataset ${manifest.name}, backbone ${input.backbone.sha256.slice(0, 12)}, cut ${input.backbone.cutLayer}, ${input.backbone.inputSize.join('×')} ${input.backbone.scaling})`,
        },
        ...input.methods.map((m) =>
          m.resumedFrom
            ? { step: m.method, cached: true, key: m.resumedFrom, reason: 'a retried attempt resumed from this checkpoint' }
            : { step: m.method, cached: false, key: m.modelPrefix, reason: 'trained in this run' },
        ),
      ],
      methods: reports,
      chosen: { method: winner.method, reason, modelKey: `${keys.model}/model.json` },
      config: {
        method: input.options.method,
        seed: input.options.seed,
        validationFraction: input.options.validationFraction,
        batchSize: input.options.batchSize,
        augment: input.options.augment,
        patience: input.options.patience,
        resize: input.options.resize,
        tta: input.options.tta ?? false,
        lrSchedule: input.options.lrSchedule ?? 'constant',
        labelSmoothing: input.options.labelSmoothing ?? 0,
        layerDecay: input.options.layerDecay ?? 1,
      },
      environment: { ...workerEnvironment(backend), seed: input.options.seed },
      timings: input.timings,
      steps: joinStepTimings(
        TRANSFER_STEPS,
        {
          ingest: input.ingest.seconds !== undefined ? { seconds: input.ingest.seconds, activities: input.ingest.activities ?? 1 } : undefined,
          extract: {
            seconds: input.features.reduce((sum, f) => sum + (f.seconds ?? 0), 0),
            activities: input.features.length,
            backend: [...new Set(input.features.flatMap((f) => (f.backend ? [f.backend] : [])))].join(' / ') || undefined,
            breakdown: sumProfiles(input.features),
          },
          ...Object.fromEntries(input.methods.map((m) => [m.method, { seconds: m.trainSeconds, activities: 1, backend: m.backend }])),
          evaluate: { seconds: (Date.now() - started) / 1000, activities: 1, backend },
        },
        input.timings,
      ),
    };
    heartbeatProgress({ step: 'evaluate', message: 'writing the report', fraction: 0.8 });
    const images = await thumbnails(data, picks);
    await store.putJson(keys.reportJson, report);
    await store.putBytes(keys.reportMarkdown, Buffer.from(renderTransferMarkdown(report)), 'text/markdown; charset=utf-8');
    await store.putBytes(keys.reportHtml, Buffer.from(renderTransferHtml(report, images)), 'text/html; charset=utf-8');
    return {
      runId: input.runId,
      chosenMethod: winner.method,
      heldOutAccuracy: winner.heldOut.accuracy,
      methods: reports.map((r) => ({ method: r.method, heldOutAccuracy: r.heldOut.accuracy, selectionAccuracy: r.selectionAccuracy, ...(r.heldOutTta ? { heldOutAccuracyTta: r.heldOutTta.accuracy } : {}) })),
      modelKey: `${keys.model}/model.json`,
      reportKeys: { json: keys.reportJson, html: keys.reportHtml, markdown: keys.reportMarkdown },
    };
  };
}

/** The extraction activities' seconds by phase, summed (cache hits have none). */
function sumProfiles(features: FeatureShard[]): Record<string, number> | undefined {
  const profiled = features.flatMap((f) => (f.profile ? [f.profile] : []));
  if (!profiled.length) return undefined;
  const sum = (k: keyof NonNullable<FeatureShard['profile']>) => profiled.reduce((a, p) => a + p[k], 0);
  return { s3Read: sum('readSeconds'), compute: sum('computeSeconds'), s3Write: sum('writeSeconds') };
}
