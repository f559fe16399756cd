import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildLabCnn, checkLayerTable, convOutputSize, formatLayerTable, labLayerTable, poolOutputSize } from '../../lib/models/lab-cnn';
import type { LabCnnInit } from '../../contracts';

test('conv formula W_out = (W − F + 2P)/S + 1', () => {
  assert.equal(convOutputSize(28, 5, 1, 2), 28);
  assert.equal(convOutputSize(14, 5, 1, 2), 14);
  assert.equal(convOutputSize(32, 5, 1, 0), 28);
  assert.equal(convOutputSize(225, 3, 2, 1), 113);
});

test('conv formula rejects sizes that do not tile', () => {
  assert.throws(() => convOutputSize(28, 5, 2, 0), /does not tile/);
});

test('pool formula W_out = (W − F)/S + 1', () => {
  assert.equal(poolOutputSize(28, 2, 2), 14);
  assert.equal(poolOutputSize(14, 2, 2), 7);
  assert.throws(() => poolOutputSize(7, 2, 2), /does not tile/);
});

test("the lab's layer table", () => {
  const rows = labLayerTable();
  const byName = Object.fromEntries(rows.map((r) => [r.layer, r]));
  assert.equal(byName.conv1.input, '28×28×1');
  assert.deepEqual([byName.conv1.F, byName.conv1.S, byName.conv1.P], [5, 1, 2]);
  assert.equal(byName.conv1.output, '28×28×16');
  assert.equal(byName.pool1.output, '14×14×16');
  assert.equal(byName.conv2.output, '14×14×32');
  assert.equal(byName.pool2.output, '7×7×32');
  assert.equal(byName.flatten.output, '1568');
  assert.equal(byName.logits.output, '10');
  assert.equal(byName.conv1.params, 5 * 5 * 1 * 16 + 16);
  assert.equal(byName.logits.params, 1568 * 10 + 10);
  const text = formatLayerTable(rows);
  assert.match(text, /conv2\s+14×14×16\s+5\s+1\s+2\s+14×14×32/);
});

test('tfjs reports the shapes and parameter counts the formulas give', async () => {
  await tf.setBackend('cpu');
  const model = buildLabCnn(1);
  assert.deepEqual(checkLayerTable(model), []);
  assert.equal(model.countParams(), labLayerTable().reduce((s, r) => s + r.params, 0));
  model.dispose();
});

test('the shape check catches a mismatch', async () => {
  await tf.setBackend('cpu');
  const model = buildLabCnn(1);
  const rows = labLayerTable();
  rows[0] = { ...rows[0], output: '24×24×16' };
  assert.match(checkLayerTable(model, rows).join('\n'), /conv1: formula gives 24×24×16, tfjs reports 28×28×16/);
  model.dispose();
});

test('the same seed gives the same initial weights', async () => {
  await tf.setBackend('cpu');
  const a = buildLabCnn(7);
  const b = buildLabCnn(7);
  const c = buildLabCnn(8);
  const wa = a.getWeights()[0].dataSync();
  assert.deepEqual(wa, b.getWeights()[0].dataSync());
  assert.notDeepEqual(wa, c.getWeights()[0].dataSync());
});

test('fan-in-uniform keeps every kernel within ±1/√fan-in; he-normal is wider', async () => {
  await tf.setBackend('cpu');
  const fanIns = { conv1: 5 * 5 * 1, conv2: 5 * 5 * 16, logits: 7 * 7 * 32 };
  const spread = (init: LabCnnInit) => {
    const model = buildLabCnn(3, 10, init);
    const out = Object.entries(fanIns).map(([name, fanIn]) => {
      const w = Array.from(model.getLayer(name).getWeights()[0].dataSync() as Float32Array);
      return { limit: 1 / Math.sqrt(fanIn), max: w.reduce((m, v) => Math.max(m, Math.abs(v)), 0) };
    });
    model.dispose();
    return out;
  };
  for (const { limit, max } of spread('fan-in-uniform')) {
    assert.ok(max <= limit, `largest |w| ${max} exceeds ${limit}`);
    assert.ok(max > 0.9 * limit, `largest |w| ${max} is far inside ${limit}: not uniform over the range`);
  }
  // he-normal's std √(2/fan-in) puts some conv weights beyond 1/√fan-in.
  assert.ok(spread('he-normal')[0].max > fanIns.conv1 ** -0.5);
});
