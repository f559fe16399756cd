import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics } from '../../lib/metrics';
import { renderHtml, renderMarkdown } from '../../lib/report/lab-cnn-page';
import { learningCurvesSvg } from '../../lib/report/learning-curves';
import { confusionMatrixSvg } from '../../lib/report/confusion-matrix';
import { type RunReport } from '../../lib/report/lab-cnn';
import type { EpochRecord } from '../../contracts';
import { classMetricBarsSvg, stepTimingsSvg } from '../../lib/report/charts';
import { joinStepTimings } from '../../lib/report/run-details';
import { assertWellFormed } from './markup-check';

function history(epochs: number): EpochRecord[] {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    loss: 0.6 / (i + 1) + 0.2,
    accuracy: 0.8 + i * 0.012,
    valLoss: 0.5 / (i + 1) + 0.25,
    valAccuracy: 0.82 + i * 0.008,
    seconds: 31.5,
    imagesPerSecond: 1714,
  }));
}

function sampleReport(classNames = ['T-shirt/top', 'Trouser', 'Pullover']): RunReport {
  const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
  const pred = [0, 0, 0, 2, 1, 1, 1, 2, 0, 2];
  return {
    runId: 'run-2024-0001',
    pipeline: 'fashion-mnist-cnn',
    title: 'Fashion-MNIST small CNN',
    createdAt: '2024-05-01T12:00:00Z',
    dataset: { name: 'fashion-mnist', manifestKey: 'datasets/fashion-mnist/manifest.json', train: 54000, validation: 6000, test: 10 },
    config: { epochs: 3, batchSize: 128, learningRate: 0.001, augment: false },
    environment: { backend: 'tensorflow', node: 'v20.11.0', tfjs: '4.22.0', seed: 42 },
    classNames,
    history: history(3),
    test: { ...classificationMetrics(truth, pred, classNames), loss: 0.3124, imagesPerSecond: 5120 },
    layers: [
      { layer: 'conv2d_1', input: '28x28x1', F: 3, S: 1, P: 1, output: '28x28x32', params: 320 },
      { layer: 'dense_1', input: '6272', F: null, S: null, P: null, output: '10', params: 62730 },
    ],
    artifacts: { model: 'runs/run-2024-0001/model/model.json', report: 'runs/run-2024-0001/report.html' },
    timings: { prepare: 4.2, train: 95.1, evaluate: 3.7 },
    steps: [
      { step: 'ingest', seconds: 3.9, activities: 1, wallSeconds: 4.2 },
      { step: 'train', seconds: 94.0, activities: 1, wallSeconds: 95.1 },
      { step: 'evaluate', seconds: 3.1, activities: 1 },
    ],
    cache: [
      { step: 'ingest', cached: true, key: 'datasets/fashion-mnist/manifests/abc.json', reason: 'these source files were ingested before' },
      { step: 'train', cached: false, key: 'runs/run-2024-0001/model', reason: 'trained from scratch' },
    ],
    // The wrong predictions of `pred` below: indices 3 and 8.
    misclassified: [
      { name: 'test #3', trueClass: classNames[0], predictedClass: classNames[2], probability: 0.61 },
      { name: 'test #8', trueClass: classNames[2], predictedClass: classNames[0], probability: 0.55 },
    ],
  };
}

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** The figures of the misclassified grid: caption name, true and predicted class, image or placeholder. */
function galleryCards(html: string): { name: string; truth: string; predicted: string; img: boolean }[] {
  return [...html.matchAll(/<figure class="mis">(.*?)<\/figure>/g)].map(([, card]) => ({
    name: /<div class="path">(.*?)<\/div>/.exec(card)![1].replace(/<wbr>/g, ''),
    truth: /<strong class="true">(.*?)<\/strong>/.exec(card)![1],
    predicted: /<span class="pred">(.*?)<\/span>/.exec(card)![1],
    img: card.startsWith('<img src="data:image/png;base64,'),
  }));
}

test('confusion matrix SVG: well formed, one rect per cell, counts shown', () => {
  const confusion = [
    [812, 3, 17],
    [5, 960, 0],
    [40, 1, 1234],
  ];
  const svg = confusionMatrixSvg(confusion, ['a', 'b', 'c']);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
  assertWellFormed(svg);
  assert.equal(svg.match(/<rect\b/g)?.length, 9);
  for (const n of confusion.flat()) assert.ok(svg.includes(`>${n}</text>`), `count ${n} missing`);
  assert.ok(svg.includes('rotate(-45'), 'x labels rotated');
  assert.ok(!svg.includes('NaN'));
});

test('confusion matrix SVG: an empty row does not produce NaN', () => {
  const svg = confusionMatrixSvg([[0, 0], [1, 2]], ['a', 'b']);
  assertWellFormed(svg);
  assert.ok(!svg.includes('NaN'));
});

test('confusion matrix SVG rejects a matrix of the wrong size', () => {
  assert.throws(() => confusionMatrixSvg([[1, 2]], ['a', 'b']), /2x2/);
});

test('learning curves SVG: two panels, train and validation lines, ticks and legend', () => {
  const svg = learningCurvesSvg(history(10));
  assertWellFormed(svg);
  assert.equal(svg.match(/<path\b/g)?.length, 4);
  assert.equal(svg.match(/<circle\b/g)?.length, 40);
  assert.ok(svg.includes('>training</text>') && svg.includes('>validation</text>'));
  assert.ok(svg.includes('>Loss</text>') && svg.includes('>Accuracy</text>'));
  for (let e = 1; e <= 10; e++) assert.ok(svg.includes(`>${e}</text>`), `epoch tick ${e}`);
  assert.match(svg, />\d+%<\/text>/, 'accuracy ticks in percent');
});

test('learning curves SVG copes with no epochs, one epoch and a NaN loss', () => {
  assertWellFormed(learningCurvesSvg([]));
  assert.match(learningCurvesSvg([]), /No epochs recorded/);
  const one = learningCurvesSvg(history(1));
  assertWellFormed(one);
  assert.ok(!one.includes('NaN') && !one.includes('Infinity'));
  const h = history(4);
  h[2].loss = NaN;
  const gap = learningCurvesSvg(h);
  assertWellFormed(gap);
  assert.ok(!gap.includes('NaN'));
});

test('HTML report: well formed, self-contained, has the headline and every section', () => {
  const rep = sampleReport();
  const html = renderHtml(rep, { 'test #3': PNG, 'test #8': PNG });
  assertWellFormed(html);
  assert.ok(!/https?:\/\//.test(html), 'no URLs at all');
  assert.ok(!/<script|<link|@import|url\(/i.test(html), 'no scripts or external resources');
  assert.ok([...html.matchAll(/src="([^"]*)"/g)].every(([, src]) => src.startsWith('data:image/png;base64,')), 'images only inline');
  assert.ok(html.includes('80.00%'), 'test accuracy 8/10');
  for (const h of ['Summary', 'Learning curves', 'Test set: per-class metrics', 'Confusion matrix', 'Misclassified test images', 'Cache decisions', 'Timings per step', 'Model layers']) {
    assert.ok(html.includes(`<h2>${h}</h2>`), `section ${h}`);
  }
  for (const box of ['Dataset', 'Configuration', 'Environment', 'Artifacts']) assert.ok(html.includes(`<h3>${box}</h3>`), `box ${box}`);
  // Learning curves, P/R/F1 bars, confusion matrix, step timings.
  assert.equal(html.match(/<svg\b/g)?.length, 4);
  assert.ok(html.includes('aria-label="Precision, recall and F1 per class"'));
  assert.equal(html.match(/<rect class="cell"/g)?.length, 9);
  assert.equal(html.match(/<rect class="bar"/g)?.length, 3 * 3 + 3, 'three bars per class, one per timed step');
  assert.ok(html.replace(/<wbr>/g, '').includes('runs/run-2024-0001/model/model.json'));
  assert.ok(html.includes('62,730') && html.includes('63,050'), 'layer params and total');
  assert.ok(html.replace(/<wbr>/g, '').includes('<td>ingest</td><td>yes</td><td>datasets/fashion-mnist/manifests/abc.json</td>'));
  assert.ok(html.includes('<td>train</td><td class="n">1 min 34 s</td><td class="n">1</td><td class="n">1 min 35 s</td>'));
  assert.ok(!renderHtml({ ...rep, layers: undefined }).includes('Model layers'));
});

test('misclassified grid: one card per image, with its true and predicted labels and its thumbnail', () => {
  const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress'];
  const rep = sampleReport(names.slice(0, 3));
  rep.misclassified = Array.from({ length: 24 }, (_, i) => ({ name: `test #${i * 7}`, trueClass: names[i % 4], predictedClass: names[(i + 1) % 4], probability: 0.5 + i / 100 }));
  const images = Object.fromEntries(rep.misclassified.filter((_, i) => i % 2 === 0).map((m) => [m.name, PNG]));
  const html = renderHtml(rep, images);
  assertWellFormed(html);
  const cards = galleryCards(html);
  assert.equal(cards.length, 24);
  cards.forEach((c, i) => {
    assert.equal(c.name, `test #${i * 7}`);
    assert.equal(c.truth, names[i % 4]);
    assert.equal(c.predicted, names[(i + 1) % 4]);
    assert.equal(c.img, i % 2 === 0, `card ${i}: thumbnail only where one was given`);
  });
  assert.equal(html.match(/<img\b/g)?.length, 12);
  assert.equal(html.match(/class="ph"/g)?.length, 12);
  // None recorded: the section says so instead of an empty grid.
  const none = renderHtml({ ...rep, misclassified: [] });
  assert.equal(galleryCards(none).length, 0);
  assert.ok(none.includes('No misclassified test images were recorded.'));
});

test('report with only workflow timings and no cache decisions still has both sections', () => {
  const rep = { ...sampleReport(), steps: undefined, cache: undefined, misclassified: undefined };
  const html = renderHtml(rep);
  assertWellFormed(html);
  assert.ok(html.includes('<h2>Cache decisions</h2>\n<p class="none">none recorded</p>'));
  assert.ok(html.includes('<td>prepare</td><td class="n">–</td><td class="n">–</td><td class="n">4.20 s</td>'), 'wall time only');
  assert.ok(!html.includes('NaN'));
});

test('per-class bars SVG: three horizontal bars per class, lengths proportional to the value', () => {
  const svg = classMetricBarsSvg([
    { className: 'a', precision: 1, recall: 0.5, f1: 0.25 },
    { className: '<b & c>', precision: 0, recall: NaN, f1: 0.75 },
  ]);
  assertWellFormed(svg);
  const widths = [...svg.matchAll(/<rect class="bar" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 6);
  // Horizontal: the full scale is 300 px wide.
  assert.deepEqual(widths, [300, 150, 75, 0, 0, 225]);
  assert.ok(svg.includes('&lt;b &amp; c&gt;') && !svg.includes('<b &'));
  assert.ok(svg.includes('>precision</text>') && svg.includes('>recall</text>') && svg.includes('>F1</text>'));
  assert.ok(!svg.includes('NaN'));
  assert.match(classMetricBarsSvg([]), /No per-class metrics/);
});

test('step timings: chart bars and the join of worker and workflow times', () => {
  const steps = joinStepTimings(['ingest', 'train', 'evaluate', 'never'], { ingest: { seconds: 2, activities: 3 }, evaluate: { seconds: 1, activities: 1 } }, { ingest: 2.5, train: 60 });
  assert.deepEqual(steps, [
    { step: 'ingest', seconds: 2, activities: 3, wallSeconds: 2.5 },
    { step: 'train', wallSeconds: 60 },
    { step: 'evaluate', seconds: 1, activities: 1 },
  ]);
  const svg = stepTimingsSvg(steps);
  assertWellFormed(svg);
  assert.equal(svg.match(/<rect class="bar"/g)?.length, 2, 'a bar per step with worker time');
  assert.ok(svg.includes('>60.0 s wall</text>'));
  assert.ok(svg.includes('>2.00 s (wall 2.50 s)</text>') && svg.includes('>1.00 s</text>'));
  assert.match(stepTimingsSvg([]), /No timings recorded/);
});

test('class names and other text are escaped in HTML, SVG and Markdown', () => {
  const nasty = '<T-shirt & "top">';
  const rep = sampleReport([nasty, "Trouser's | pipe", 'Pullover']);
  rep.title = 'Run </title><script>alert(1)</script>';
  const html = renderHtml(rep);
  assertWellFormed(html);
  assert.ok(html.includes('&lt;T-shirt &amp; &quot;top&quot;&gt;'));
  assert.ok(!html.includes('<T-shirt') && !html.includes('<script'));
  assert.ok(!confusionMatrixSvg(rep.test.confusion, rep.classNames).includes('<T-shirt'));

  const md = renderMarkdown(rep);
  assert.ok(md.includes('&lt;T-shirt &amp; "top"&gt;'));
  assert.ok(!md.includes('<T-shirt') && !md.includes('<script'));
  // Every row of a table has as many cells as its header, so the escaped pipe did not split a cell.
  for (const block of md.split('\n\n').filter((b) => b.startsWith('|'))) {
    const widths = block.split('\n').map((line) => line.split(/(?<!\\)\|/).length);
    assert.ok(widths.every((w) => w === widths[0]), `ragged table:\n${block}`);
  }
});

test('Markdown report: accuracy, tables and confusion matrix', () => {
  const md = renderMarkdown(sampleReport());
  assert.match(md, /^# Fashion-MNIST small CNN\n/);
  assert.ok(md.includes('**Test accuracy: 80.00%**'));
  assert.ok(md.includes('| True ↓ / predicted → | T-shirt/top | Trouser | Pullover |'));
  assert.ok(md.includes('| T-shirt/top | 3 | 0 | 1 |'));
  assert.ok(md.includes('| Pullover | 1 | 0 | 2 |'));
  assert.ok(md.includes('| 1 | 0.8000 | 80.00% |'), 'history row');
  assert.ok(md.includes('## Model layers') && md.includes('| conv2d_1 | 28x28x1 | 3 | 1 | 1 | 28x28x32 | 320 |'));
  assert.ok(md.includes('| train | 1 min 34 s | 1 | 1 min 35 s |'));
  assert.ok(md.includes('| ingest | yes | datasets/fashion-mnist/manifests/abc.json | these source files were ingested before |'));
  assert.ok(md.includes('| test #3 | T-shirt/top | Pullover | 61.0% |'));
  assert.ok(!/<img|https?:\/\//.test(md));
});
