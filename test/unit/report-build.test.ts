// The report documents are pure functions of a run's results: what each section says follows
// from the inputs alone (no S3, no tfjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics } from '../../lib/metrics';
import { type EvaluateInput, type EvaluateTransferInput, type MethodResult, LAB_CNN_DEFAULTS, TRANSFER_DEFAULTS, TRANSFER_STEPS, addFeatures, EMPTY_FEATURE_SUMMARY } from '../../contracts';
import { buildLabCnnReport } from '../../lib/report/lab-cnn';
import { buildMethodReport, buildTransferReport, transferRunResult } from '../../lib/report/transfer';

const classNames = ['ants', 'bees'];
const metrics = classificationMetrics([0, 0, 1, 1], [0, 1, 1, 1], classNames);

function labInput(resumedFromEpoch: number): EvaluateInput {
  return {
    runId: 'lab-1',
    manifestKey: 'datasets/fm/manifest.json',
    options: { ...LAB_CNN_DEFAULTS, epochs: 3 },
    ingest: { manifestKey: 'datasets/fm/manifest.json', datasetSha256: 'ab', cached: true, counts: { train: 60000, test: 10000 }, classNames, seconds: 0.4 },
    train: { modelPrefix: 'runs/lab-1/model', history: [], resumedFromEpoch, trainCount: 57000, validationCount: 3000, seconds: 120, imagesPerSecond: 1425.6, backend: 'tensorflow' },
    timings: { ingest: 1, train: 125 },
  };
}

test('lab-CNN report: config, cache decisions and step timings follow from the results', () => {
  const report = buildLabCnnReport({
    input: labInput(2),
    dataset: { name: 'fashion-mnist', classNames },
    test: { ...metrics, loss: 0.3, imagesPerSecond: 5000 },
    misclassified: [],
    layers: [],
    environment: { backend: 'tensorflow', cores: 2 },
    backend: 'tensorflow',
    evaluateSeconds: 4,
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  assert.equal(report.title, 'Lab CNN on fashion-mnist');
  assert.deepEqual(report.dataset, { name: 'fashion-mnist', manifestKey: 'datasets/fm/manifest.json', train: 57000, validation: 3000, test: 4 });
  assert.equal(report.config.epochs, 3);
  assert.equal(report.config.limit, 'none');
  assert.equal(report.environment.trainImagesPerSecond, 1426);
  assert.deepEqual(report.cache?.map((c) => [c.step, c.cached]), [['ingest', true], ['train', true]]);
  assert.equal(report.cache?.[1].key, 'runs/lab-1/checkpoints/epoch-002');
  assert.deepEqual(report.steps?.map((s) => s.step), ['ingest', 'train', 'evaluate']);
  assert.equal(report.steps?.find((s) => s.step === 'evaluate')?.seconds, 4);
  assert.equal(report.artifacts.reportHtml, 'runs/lab-1/report/report.html');

  const fresh = buildLabCnnReport({ ...{ input: labInput(0) }, dataset: { name: 'x', classNames }, test: { ...metrics, loss: 0, imagesPerSecond: 0 }, misclassified: [], layers: [], environment: {}, backend: 'wasm', evaluateSeconds: 1, createdAt: '' });
  assert.deepEqual(fresh.cache?.[1], { step: 'train', cached: false, key: 'runs/lab-1/model', reason: 'trained from scratch' });
});

const method = (m: 'features' | 'finetune', resumedFrom?: string): MethodResult => ({
  method: m,
  modelPrefix: `runs/tr-1/methods/${m}/model`,
  selectionAccuracy: 0.9,
  trainSeconds: 10,
  imagesPerSecond: 50,
  backend: 'tensorflow',
  ...(resumedFrom ? { resumedFrom } : {}),
});

test('transfer report: every method scored, the choice recorded, caches and steps accounted for', () => {
  const input: EvaluateTransferInput = {
    runId: 'tr-1',
    manifestKey: 'datasets/h/manifest.json',
    backbone: { source: 's3://b/m', sha256: 'f'.repeat(64), cutLayer: 'avg_pool', inputSize: [224, 224], channels: 3, scaling: 'minus1to1', featureDim: 1280 },
    options: { ...TRANSFER_DEFAULTS, data: '/photos', backbone: 'lite0' },
    methods: [method('features'), method('finetune', 'runs/tr-1/methods/finetune/checkpoints/stage-1-epoch-002')],
    ingest: { manifestKey: 'datasets/h/manifest.json', cached: false, cacheReason: 'first ingestion', seconds: 3, activities: 4 },
    features: [
      { split: 'train', count: 10, features: 'f/0', labels: 'l/0', cached: true },
      { split: 'val', count: 4, features: 'f/1', labels: 'l/1', cached: false, seconds: 2, backend: 'tensorflow', profile: { readSeconds: 0.5, computeSeconds: 1, writeSeconds: 0.25 } },
    ].reduce(addFeatures, EMPTY_FEATURE_SUMMARY),
    timings: { backbone: 1, ingest: 4, extract: 3, features: 11, finetune: 12 },
  };
  const scored = (acc: number) => ({ split: 'val', metrics: { ...metrics, accuracy: acc }, loss: 0.2, misclassified: [] });
  const methods = [buildMethodReport(input.methods[0], scored(0.75)), buildMethodReport(input.methods[1], scored(1))];
  assert.equal(methods[1].label, 'Fine-tuning');
  assert.equal(methods[1].modelKey, 'runs/tr-1/methods/finetune/model/model.json');
  const report = buildTransferReport({
    input,
    manifest: { name: 'h', classNames, splits: { train: { count: 10 }, val: { count: 4 } } as never, quality: undefined },
    heldOutSplit: 'val',
    methods,
    chosen: { method: 'finetune', reason: 'better', modelKey: 'runs/tr-1/model/model.json' },
    environment: { cores: 2 },
    backend: 'tensorflow',
    evaluateSeconds: 2.5,
    createdAt: '',
  });
  assert.equal(report.title, 'Transfer learning: ants vs bees');
  assert.deepEqual(report.dataset.counts, { train: 10, val: 4 });
  const extract = report.cache.find((c) => c.step === 'extract')!;
  assert.equal(extract.cached, false);
  assert.match(extract.reason, /^1 of 2 feature shards were already stored/);
  assert.deepEqual(report.cache.find((c) => c.step === 'finetune'), { step: 'finetune', cached: true, key: input.methods[1].resumedFrom, reason: 'a retried attempt resumed from this checkpoint' });
  assert.deepEqual(report.steps?.map((s) => s.step), TRANSFER_STEPS);
  assert.deepEqual(report.steps?.find((s) => s.step === 'extract')?.breakdown, { s3Read: 0.5, compute: 1, s3Write: 0.25 });
  assert.equal(report.config.tta, false);

  const result = transferRunResult(report, { json: 'j', html: 'h', markdown: 'm' });
  assert.equal(result.chosenMethod, 'finetune');
  assert.equal(result.heldOutAccuracy, 1);
  assert.deepEqual(result.methods.map((m) => m.heldOutAccuracy), [0.75, 1]);
  assert.equal(result.modelKey, 'runs/tr-1/model/model.json');
});
