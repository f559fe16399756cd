import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics } from '../../lib/metrics';
import { confusionMatrixSvg, learningCurvesSvg, renderHtml, renderMarkdown, type EpochRecord, type RunReport } from '../../lib/report';
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
  };
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
  const html = renderHtml(rep);
  assertWellFormed(html);
  assert.ok(!/https?:\/\//.test(html), 'no URLs at all');
  assert.ok(!/<script|<link|<img|src=|@import|url\(/i.test(html), 'no external resources or scripts');
  assert.ok(html.includes('80.00%'), 'test accuracy 8/10');
  for (const h of ['Dataset', 'Configuration', 'Environment', 'Timings', 'Artifacts', 'Model layers', 'Confusion matrix', 'Learning curves']) {
    assert.ok(html.includes(h), `section ${h}`);
  }
  assert.equal(html.match(/<svg\b/g)?.length, 2);
  assert.equal(html.match(/<rect\b/g)?.length, 9);
  assert.ok(html.replace(/<wbr>/g, '').includes('runs/run-2024-0001/model/model.json'));
  assert.ok(html.includes('62,730') && html.includes('63,050'), 'layer params and total');
  assert.ok(!renderHtml({ ...rep, layers: undefined }).includes('Model layers'));
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
  assert.ok(md.includes('| prepare | 4.20 s |'));
});
