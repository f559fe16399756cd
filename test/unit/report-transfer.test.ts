import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics } from '../../lib/metrics';
import type { EpochRecord } from '../../contracts';
import { renderTransferHtml } from '../../lib/report/transfer-page';
import { perClassBarsSvg } from '../../lib/report/transfer-sections';
import { renderTransferMarkdown } from '../../lib/report/transfer-markdown';
import type { MethodReport, TransferReport } from '../../lib/report/transfer';
import { assertWellFormed } from './markup-check';

function history(epochs: number, start = 1): EpochRecord[] {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: start + i,
    loss: 0.7 / (i + 1) + 0.15,
    accuracy: 0.72 + i * 0.04,
    valLoss: 0.6 / (i + 1) + 0.2,
    valAccuracy: 0.75 + i * 0.03,
    seconds: 12.4,
    imagesPerSecond: 19.6,
  }));
}

/** Held-out labels for `n` images with `wrong` of them misclassified, alternating classes. */
function heldOut(classNames: string[], n: number, wrong: number) {
  const truth = Array.from({ length: n }, (_, i) => i % classNames.length);
  const pred = truth.map((t, i) => (i < wrong ? (t + 1) % classNames.length : t));
  return { ...classificationMetrics(truth, pred, classNames), split: 'test' };
}

function featuresMethod(classNames: string[]): MethodReport {
  return {
    method: 'features',
    label: 'Feature extraction + logistic regression',
    modelKey: 'runs/tr-1/models/features',
    heldOut: { ...heldOut(classNames, 100, 7), loss: 0.2143 },
    selectionAccuracy: 0.9344,
    trainSeconds: 41.3,
    imagesPerSecond: 88.1,
    l2Grid: [
      { l2: 1e-4, valAccuracy: 0.918, valLoss: 0.251 },
      { l2: 1e-3, valAccuracy: 0.9344, valLoss: 0.221 },
      { l2: 1e-2, valAccuracy: 0.926, valLoss: 0.238 },
    ],
    chosenL2: 1e-3,
    misclassified: [
      { path: `train/${classNames[0]}/my photo (1).jpg`, trueClass: classNames[0], predictedClass: classNames[1], probability: 0.81 },
      { path: `val/${classNames[1]}/b2.png`, trueClass: classNames[1], predictedClass: classNames[0], probability: 0.64 },
    ],
  };
}

function finetuneMethod(classNames: string[]): MethodReport {
  return {
    method: 'finetune',
    label: 'Fine-tuning',
    modelKey: 'runs/tr-1/models/finetune',
    heldOut: { ...heldOut(classNames, 100, 9), loss: 0.2611 },
    selectionAccuracy: 0.918,
    trainSeconds: 412.7,
    imagesPerSecond: 19.6,
    stages: [
      { stage: { name: 'head', unfreeze: 'head', epochs: 5, learningRate: 1e-3 }, history: history(5), trainableLayers: 2, stoppedEarly: false },
      { stage: { name: 'top blocks', unfreeze: { topLayers: 20 }, epochs: 10, learningRate: 1e-5 }, history: history(4, 6), trainableLayers: 22, stoppedEarly: true },
    ],
    misclassified: [{ path: `val/${classNames[1]}/b7.jpg`, trueClass: classNames[1], predictedClass: classNames[0], probability: 0.58 }],
  };
}

function sampleReport(classNames = ['ants', 'bees']): TransferReport {
  return {
    runId: 'tr-1',
    title: 'Hymenoptera transfer learning',
    createdAt: '2024-06-01T10:00:00Z',
    dataset: {
      manifestKey: 'datasets/hymenoptera/manifest.json',
      classNames,
      counts: { train: 244, test: 153 },
      heldOutSplit: 'test',
      rejected: [{ path: 'train/ants/broken file (copy).jpg', reason: 'not a decodable image' }],
      duplicates: [{ sha256: 'a'.repeat(64), paths: ['train/ants/x.jpg', 'train/ants/x (2).jpg'] }],
      crossSplit: [],
    },
    backbone: {
      source: 'backbones/mobilenet_v2/model.json',
      sha256: 'b'.repeat(64),
      cutLayer: 'global_average_pooling2d_1',
      inputSize: [224, 224],
      channels: 3,
      scaling: '[-1, 1]',
      featureDim: 1280,
    },
    cache: [
      { step: 'ingest', cached: true, key: 'datasets/images/manifests/abc.json', reason: 'manifest for the same dataset hash exists' },
      { step: 'extract-features', cached: false, reason: 'new backbone' },
    ],
    methods: [featuresMethod(classNames), finetuneMethod(classNames)],
    chosen: { method: 'features', reason: 'higher selection accuracy (93.44% vs 91.80%)', modelKey: 'runs/tr-1/models/features' },
    config: { method: 'both', seed: 42, batchSize: 32, augment: true, validationFraction: 0.2 },
    environment: { backend: 'tensorflow', node: 'v20.11.0', tfjs: '4.22.0' },
    timings: { ingest: 3.2, features: 41.3, finetune: 412.7, evaluate: 6.1 },
    steps: [
      { step: 'ingest', seconds: 2.9, activities: 4, wallSeconds: 3.2 },
      { step: 'features', seconds: 40.1, activities: 1, wallSeconds: 41.3 },
      { step: 'finetune', seconds: 410.2, activities: 1, wallSeconds: 412.7 },
      { step: 'evaluate', seconds: 5.5, activities: 1, wallSeconds: 6.1 },
    ],
  };
}

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

test('HTML: both methods, well formed, self-contained, every section', () => {
  const rep = sampleReport();
  const html = renderTransferHtml(rep, { 'train/ants/my photo (1).jpg': PNG });
  assertWellFormed(html);
  assert.ok(!/https?:\/\//.test(html), 'no URLs');
  assert.ok(!/<script|<link|@import|url\(/i.test(html), 'no scripts or external resources');
  assert.ok(html.includes('Chosen: Feature extraction + logistic regression'));
  assert.ok(html.includes('93.00%') && html.includes('91.00%'), 'held-out accuracies');
  assert.ok(html.includes('higher selection accuracy (93.44% vs 91.80%)'));
  for (const h of ['Methods compared', 'Per-class metrics side by side', 'F1 by method', 'Cache decisions', 'Timings per step', 'Dataset', 'Rejected files', 'Duplicates', 'Cross-split files', 'Backbone', 'Configuration', 'Environment']) {
    assert.ok(html.includes(`>${h}<`), `section ${h}`);
  }
  assert.ok(html.includes('L2 grid for the logistic-regression head'));
  // 2 confusion matrices + 2 stage curves + P/R/F1 bars per method + the F1 comparison + step timings.
  assert.equal(html.match(/<svg\b/g)?.length, 8);
  assert.equal(html.match(/aria-label="Precision, recall and F1 per class: /g)?.length, 2, 'one bar chart per method, side by side');
  assert.ok(html.includes('Stage 1: head') && html.includes('Stage 2: top blocks'));
  assert.ok(html.includes('learning rate 1e-5') && html.includes('22 trainable layers'));
  assert.equal(html.match(/stopped early/g)?.length, 1);
  assert.equal(html.match(/<img\b/g)?.length, 1, 'one thumbnail');
  assert.equal(html.match(/class="ph"/g)?.length, 2, 'placeholders for the others');
  assert.ok(html.includes('1,280') && html.includes('global_average_pooling2d_1') && html.includes('224×224×3'));
  assert.ok(html.replace(/<wbr>/g, '').includes('<td>ingest</td><td>yes</td><td>datasets/images/manifests/abc.json</td>'), 'cache decision with its key');
  assert.ok(html.includes('<td>extract-features</td><td>no</td><td>–</td>'));
  assert.ok(html.includes('<td>finetune</td><td class="n">6 min 50 s</td><td class="n">1</td><td class="n">6 min 53 s</td>'), 'worker and wall time per step');
  assert.ok(/Cross-split files<\/h3><p class="none">none<\/p>/.test(html), 'empty list shows none');
});

test('HTML and Markdown: a report with one method only', () => {
  for (const only of ['features', 'finetune'] as const) {
    const rep = sampleReport();
    rep.methods = rep.methods.filter((m) => m.method === only);
    rep.chosen = { method: only, reason: 'only method run', modelKey: rep.methods[0].modelKey };
    const html = renderTransferHtml(rep);
    assertWellFormed(html);
    assert.ok(html.includes(`Chosen: ${rep.methods[0].label}`));
    assert.equal(html.includes('L2 grid'), only === 'features');
    assert.equal(html.includes('Stage 1: head'), only === 'finetune');
    // F1 comparison: one bar per class; P/R/F1 chart: three per class; step timings: one per step.
    assert.equal(html.match(/<rect class="bar"/g)?.length, 2 + 2 * 3 + 4);
    const md = renderTransferMarkdown(rep);
    assert.ok(md.includes(`## ${rep.methods[0].label} (chosen)`));
  }
});

test('HTML: empty lists, no misclassified images, mismatched confusion still render', () => {
  const rep = sampleReport();
  rep.dataset.rejected = [];
  rep.dataset.duplicates = [];
  rep.cache = [];
  rep.methods[0].misclassified = [];
  rep.methods[1].heldOut.confusion = [[1]];
  const html = renderTransferHtml(rep);
  assertWellFormed(html);
  assert.ok(html.includes('confusion matrix unavailable'));
  assert.ok(!html.includes('NaN'));
  const md = renderTransferMarkdown(rep);
  assert.ok(md.includes('### Rejected files\n\nNone.'));
});

test('class names and paths are escaped in HTML, SVG and Markdown', () => {
  const nasty = '<ant & "bee">';
  const rep = sampleReport([nasty, "bee's | pipe"]);
  rep.title = 'T </title><script>alert(1)</script>';
  rep.chosen.reason = 'because <b>bold</b> & more';
  const html = renderTransferHtml(rep);
  assertWellFormed(html);
  assert.ok(html.includes('&lt;ant &amp; &quot;bee&quot;&gt;'));
  assert.ok(!html.includes('<ant') && !html.includes('<script') && !html.includes('<b>bold'));
  // The path with spaces and parentheses appears escaped and intact (modulo <wbr> break points).
  assert.ok(html.replace(/<wbr>/g, '').includes('train/&lt;ant &amp; &quot;bee&quot;&gt;/my photo (1).jpg'));

  const md = renderTransferMarkdown(rep);
  assert.ok(md.includes('&lt;ant &amp; "bee"&gt;'));
  assert.ok(md.includes('train/&lt;ant &amp; "bee"&gt;/my photo (1).jpg'));
  assert.ok(!md.includes('<ant') && !md.includes('<script'));
  for (const block of md.trim().split('\n\n').filter((b) => b.startsWith('|'))) {
    const widths = block.split('\n').map((line) => line.split(/(?<!\\)\|/).length);
    assert.ok(widths.every((w) => w === widths[0]), `ragged table:\n${block}`);
  }
});

test('only data:image URLs become <img src>; anything else is dropped', () => {
  const rep = sampleReport();
  const paths = rep.methods.flatMap((m) => m.misclassified.map((x) => x.path));
  const bad = [
    'https://example.com/a.jpg',
    'javascript:alert(1)',
    'data:text/html;base64,PHNjcmlwdD4=',
    'data:image/svg+xml;base64,PHN2Zz4=',
    'data:image/png;base64,AAAA" onerror="alert(1)',
  ];
  for (const url of bad) {
    const html = renderTransferHtml(rep, Object.fromEntries(paths.map((p) => [p, url])));
    assertWellFormed(html);
    assert.ok(!/<img\b/.test(html), `dropped: ${url}`);
    assert.ok(!html.includes('example.com') && !html.includes('javascript:') && !html.includes('onerror'));
  }
  const ok = renderTransferHtml(rep, Object.fromEntries(paths.map((p) => [p, PNG])));
  assert.equal(ok.match(/<img src="data:image\/png;base64,/g)?.length, 3);
  const jpeg = renderTransferHtml(rep, { [paths[0]]: 'data:image/jpeg;base64,/9j/4AAQ' });
  assert.equal(jpeg.match(/<img src="data:image\/jpeg;base64,\/9j\/4AAQ"/g)?.length, 1);
});

test('per-class bars SVG: one <rect> per class and method, legend, escaped labels', () => {
  const classes = ['a', 'b', '<c & d>'];
  const mk = (label: string, f: number) => ({ label, perClass: classes.map((className, i) => ({ className, f1: f - i * 0.1, precision: f, recall: f })) });
  const svg = perClassBarsSvg([mk('features', 0.9), mk('fine "tuning"', 0.8)]);
  assertWellFormed(svg);
  assert.equal(svg.match(/<rect\b/g)?.length, 6);
  assert.ok(svg.includes('>features</text>') && svg.includes('>fine &quot;tuning&quot;</text>'), 'legend');
  assert.ok(svg.includes('&lt;c &amp; d&gt;') && !svg.includes('<c &'));
  assert.ok(!svg.includes('NaN'));
  // Many classes with long names: still one rect per bar, labels rotated.
  const many = Array.from({ length: 30 }, (_, i) => `class number ${i}`);
  const big = perClassBarsSvg([{ label: 'm', perClass: many.map((className) => ({ className, f1: NaN, precision: 0, recall: 0 })) }]);
  assertWellFormed(big);
  assert.equal(big.match(/<rect\b/g)?.length, 30);
  assert.ok(big.includes('rotate(-45') && !big.includes('NaN'));
  const empty = perClassBarsSvg([]);
  assertWellFormed(empty);
  assert.ok(empty.includes('No per-class metrics') && !empty.includes('<rect'));
});

test('Markdown: headline, comparison, stages, L2 grid, misclassified, dataset lists', () => {
  const md = renderTransferMarkdown(sampleReport());
  assert.match(md, /^# Hymenoptera transfer learning\n/);
  assert.ok(md.includes('**Chosen: Feature extraction + logistic regression — 93.00% held-out accuracy (test)**'));
  assert.ok(md.includes('| Held-out accuracy | 93.00% (test) | 91.00% (test) |'));
  assert.ok(md.includes('| Stages / chosen L2 | L2 0.001 | 2 stages (head, top blocks) |'));
  assert.ok(md.includes('#### Stage 2: top blocks'));
  assert.ok(md.includes('unfreeze top 20 layers · 22 trainable layers · learning rate 1e-5 · 4 of 10 epochs · stopped early'));
  assert.ok(md.includes('| 0.001 | 93.44% | 0.2210 | ✓ |'));
  assert.ok(md.includes('| train/ants/my photo (1).jpg | ants | bees | 81.0% |'));
  assert.ok(md.includes('| ingest | yes | datasets/images/manifests/abc.json | manifest for the same dataset hash exists |'));
  assert.ok(md.includes('| finetune | 6 min 50 s | 1 | 6 min 53 s |'));
  assert.ok(md.includes('| test (held out) | 153 |'));
  assert.ok(md.includes('| train/ants/broken file (copy).jpg | not a decodable image |'));
  assert.ok(md.includes('### Cross-split files\n\nNone.'));
  assert.ok(md.includes('| Feature dim | 1,280 |'));
  assert.ok(!/<img|https?:\/\//.test(md));
});

test('Markdown: a cross-validated L2 grid shows each fold and the spread; stages show their epoch 0', () => {
  const rep = sampleReport();
  rep.methods[0] = {
    ...rep.methods[0],
    l2Selection: '5-fold stratified cross-validation on 244 training images',
    l2Grid: [
      { l2: 1e-3, valAccuracy: 0.93, valLoss: 0.2, spread: 0.0212, foldAccuracies: [0.9, 0.94, 0.92, 0.96, 0.93] },
      { l2: 1e-2, valAccuracy: 0.91, valLoss: 0.25, spread: 0.01, foldAccuracies: [0.9, 0.9, 0.92, 0.92, 0.91] },
    ],
  };
  rep.methods[1].stages![1] = { ...rep.methods[1].stages![1], start: { valLoss: 0.3, valAccuracy: 0.918 }, keptEpoch: 0 };
  const md = renderTransferMarkdown(rep);
  assert.ok(md.includes('Chosen L2: 0.001, scored by 5-fold stratified cross-validation on 244 training images.'));
  assert.ok(md.includes('| 0.001 | 93.00% | 2.12% | 0.2000 | 90.0% 94.0% 92.0% 96.0% 93.0% | ✓ |'), md);
  assert.ok(md.includes('started at 91.8% held-back accuracy (epoch 0) · kept epoch 0: no epoch beat the start'));
});
