// Fine-tuning: stages and their validation, the unfreezing schedule, frozen batch-norm
// layers that really stay frozen, and a model that still learns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_STAGES, HEAD_LAYER_NAME, applyStage, buildFineTuneModel, isBatchNormInInferenceMode, parseStages, trainableLayerNames } from '../../lib/models/fine-tune';
import type { Stage } from '../../contracts';
import { fitLogisticRegression, toLayersModel } from '../../lib/models/logistic-regression';
import { loadBackbone } from '../../lib/models/backbone';

const MOBILENET_V1 = path.resolve(__dirname, '../../../../shared/data/models/mobilenet_v1_0.25_224');

/** conv → BN → relu → conv → BN → relu → GAP: the shape of a real backbone body, tiny. */
function smallBody(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x: tf.SymbolicTensor = input;
  for (const i of [1, 2]) {
    x = tf.layers.conv2d({ name: `c${i}`, filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `bn${i}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `relu${i}` }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

/** Every weight of the named layers as bytes, to compare bit for bit. */
function snapshot(model: tf.LayersModel, names: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of names) {
    const layer = model.getLayer(name);
    for (const w of layer.weights) {
      const values = w.read().dataSync() as Float32Array;
      out.set(w.originalName, Buffer.from(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
    }
  }
  return out;
}

/** Names of weights whose bytes differ between two snapshots. */
function changed(before: Map<string, Buffer>, after: Map<string, Buffer>): string[] {
  return [...before.keys()].filter((k) => !before.get(k)!.equals(after.get(k)!));
}

async function trainSteps(model: tf.LayersModel, steps: number, seed: number, shape = [8, 8, 8, 3]) {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const [x, y] = tf.tidy(() => {
      const x = tf.randomNormal(shape, 0.5, 2, 'float32', seed + s); // far from the BN's stored stats
      const labels = tf.tensor1d(Array.from({ length: shape[0] }, (_, i) => i % 2), 'int32');
      return [x, tf.oneHot(labels, 2).toFloat()];
    });
    losses.push(lossOf(await model.trainOnBatch(x, y)));
    tf.dispose([x, y]);
  }
  return losses;
}

/** trainOnBatch gives [loss, ...metrics] once compiled with metrics. */
const lossOf = (r: number | number[]) => (Array.isArray(r) ? r[0] : r);

const stage = (unfreeze: Stage['unfreeze'], learningRate = 0.01): Stage => ({ name: 'test', unfreeze, epochs: 1, learningRate });
const bnWeights = ['bn1', 'bn2'];

test("control: tfjs alone updates a non-trainable BN layer's moving statistics", async () => {
  await tf.setBackend('cpu');
  const model = buildFineTuneModel(smallBody(1), 2, { seed: 1 });
  model.getLayer('bn1').trainable = false;
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const before = snapshot(model, ['bn1']);
  await trainSteps(model, 2, 7);
  const moved = changed(before, snapshot(model, ['bn1']));
  assert.ok(moved.some((n) => /moving_mean/.test(n)) && moved.some((n) => /moving_variance/.test(n)), `moved: ${moved}`);
  assert.ok(!moved.some((n) => /gamma|beta/.test(n)), 'gamma and beta themselves are not trained');
});

test('head stage: every frozen layer, batch norm included, is bit-identical after training; the head changed', async () => {
  await tf.setBackend('cpu');
  const model = buildFineTuneModel(smallBody(2), 2, { seed: 2 });
  const count = applyStage(model, stage('head'), [HEAD_LAYER_NAME]);
  assert.equal(count, 1);
  const frozen = ['c1', 'bn1', 'c2', 'bn2'];
  const before = snapshot(model, [...frozen, HEAD_LAYER_NAME]);
  await trainSteps(model, 3, 11);
  const after = snapshot(model, [...frozen, HEAD_LAYER_NAME]);
  const diff = changed(before, after);
  assert.deepEqual(diff.filter((n) => !n.startsWith(HEAD_LAYER_NAME)), [], 'frozen weights untouched (gamma, beta, moving mean and variance)');
  assert.ok(diff.some((n) => n.startsWith(`${HEAD_LAYER_NAME}/kernel`)), 'the head trained');
  for (const name of bnWeights) assert.ok(isBatchNormInInferenceMode(model.getLayer(name)));
});

test('a partly unfrozen body: frozen BN untouched, unfrozen BN and conv train; unfreezing restores training mode', async () => {
  await tf.setBackend('cpu');
  const model = buildFineTuneModel(smallBody(3), 2, { seed: 3 });
  applyStage(model, stage({ topLayers: 2 }), [HEAD_LAYER_NAME]); // c2 and bn2 (and the head)
  assert.deepEqual(trainableLayerNames(model), ['c2', 'bn2', HEAD_LAYER_NAME]);
  let before = snapshot(model, ['c1', 'bn1', 'c2', 'bn2']);
  await trainSteps(model, 3, 21);
  let diff = changed(before, snapshot(model, ['c1', 'bn1', 'c2', 'bn2']));
  assert.deepEqual(diff.filter((n) => /^(c1|bn1)\//.test(n)), [], 'c1 and bn1 are bit-identical');
  for (const w of ['c2/kernel', 'c2/bias', 'bn2/gamma', 'bn2/beta', 'bn2/moving_mean', 'bn2/moving_variance']) {
    assert.ok(diff.some((n) => n.startsWith(w)), `${w} changed (changed: ${diff})`);
  }

  applyStage(model, stage('all'), [HEAD_LAYER_NAME]);
  assert.equal(isBatchNormInInferenceMode(model.getLayer('bn1')), false);
  before = snapshot(model, ['bn1']);
  await trainSteps(model, 1, 31);
  diff = changed(before, snapshot(model, ['bn1']));
  assert.ok(diff.some((n) => /bn1\/moving_mean/.test(n)), 'bn1 trains again once unfrozen');
});

test('the unfreezing schedule: head, topLayers, blocks, all', async () => {
  await tf.setBackend('cpu');
  const model = buildFineTuneModel(smallBody(4), 2, { seed: 4 });
  const head = [HEAD_LAYER_NAME];
  const schedule: [Stage['unfreeze'], string[]][] = [
    ['head', [HEAD_LAYER_NAME]],
    [{ topLayers: 1 }, ['bn2', HEAD_LAYER_NAME]],
    [{ topLayers: 3 }, ['bn1', 'c2', 'bn2', HEAD_LAYER_NAME]],
    [{ topLayers: 99 }, ['c1', 'bn1', 'c2', 'bn2', HEAD_LAYER_NAME]],
    [{ blocks: ['c2', 'bn2'] }, ['c2', 'bn2', HEAD_LAYER_NAME]],
    [{ blocks: ['bn'] }, ['bn1', 'bn2', HEAD_LAYER_NAME]],
    ['all', ['c1', 'bn1', 'c2', 'bn2', HEAD_LAYER_NAME]],
    ['head', [HEAD_LAYER_NAME]], // and back: a later stage may freeze again
  ];
  for (const [unfreeze, expected] of schedule) {
    const count = applyStage(model, stage(unfreeze), head);
    assert.deepEqual(trainableLayerNames(model), expected, JSON.stringify(unfreeze));
    assert.equal(count, expected.length);
    assert.deepEqual(
      model.trainableWeights.map((w) => w.originalName.split('/')[0]).filter((v, i, a) => a.indexOf(v) === i),
      expected,
      'the optimizer sees exactly these layers',
    );
    for (const bn of bnWeights) assert.equal(isBatchNormInInferenceMode(model.getLayer(bn)), !expected.includes(bn), `${bn} for ${JSON.stringify(unfreeze)}`);
  }
  assert.throws(() => applyStage(model, stage({ blocks: ['conv_pw_13'] }), head), /no layer name starts with "conv_pw_13".*bn2/);
  assert.throws(() => applyStage(model, stage('head'), ['no_such_head']), /head layer "no_such_head"/);
});

test('the model still learns: loss falls on a tiny separable problem', async () => {
  await tf.setBackend('cpu');
  const model = buildFineTuneModel(smallBody(5), 2, { seed: 5 });
  // Class 1 images are bright in channel 0, class 0 images in channel 2.
  const n = 16;
  const [x, y] = tf.tidy(() => {
    const labels = tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2), 'int32');
    const noise = tf.randomUniform([n, 8, 8, 3], 0, 0.2, 'float32', 9);
    const bright = tf.oneHot(labels, 2).toFloat().matMul(tf.tensor2d([[0, 0, 1], [1, 0, 0]])).reshape([n, 1, 1, 3]);
    return [noise.add(bright), tf.oneHot(labels, 2).toFloat()];
  });
  const losses: number[] = [];
  for (const s of [stage('head', 0.05), stage('all', 0.01)]) {
    applyStage(model, s, [HEAD_LAYER_NAME]);
    for (let i = 0; i < 30; i++) losses.push(lossOf(await model.trainOnBatch(x, y)));
  }
  assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  const accuracy = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1).equal(y.argMax(1)).mean().dataSync()[0]);
  assert.equal(accuracy, 1);
  tf.dispose([x, y]);
});

test('a warm-started head predicts what the logistic-regression head does', async () => {
  await tf.setBackend('cpu');
  const body = smallBody(6);
  const images = tf.randomUniform([40, 8, 8, 3], 0, 1, 'float32', 3);
  const features = (body.predict(images) as tf.Tensor).dataSync() as Float32Array;
  const labels = Uint8Array.from({ length: 40 }, (_, i) => (features[i * 4] > features[i * 4 + 1] ? 1 : 0) + (i % 3 === 0 ? 1 : 0));
  const lr = await fitLogisticRegression({ train: { x: features, y: labels }, val: { x: features, y: labels }, dim: 4, numClasses: 3 }, { seed: 1, l2Grid: [0.01] });
  const model = buildFineTuneModel(body, 3, { seed: 6, warmStart: lr });
  const head = toLayersModel(lr);
  const viaLr = tf.tidy(() => (head.predict(tf.tensor2d(features, [40, 4])) as tf.Tensor).dataSync());
  const viaModel = tf.tidy(() => (model.predict(images) as tf.Tensor).dataSync());
  assert.ok(viaModel.every((v, i) => Math.abs(v - viaLr[i]) < 1e-5));
  assert.throws(() => buildFineTuneModel(body, 4, { seed: 6, warmStart: lr }), /maps 4 features to 3 classes/);
  images.dispose();
});

test('stages parse from JSON; errors name the field', () => {
  assert.deepEqual(parseStages(JSON.stringify(DEFAULT_STAGES)), DEFAULT_STAGES);
  assert.equal(DEFAULT_STAGES[0].unfreeze, 'head');
  assert.ok(DEFAULT_STAGES[1].learningRate < DEFAULT_STAGES[0].learningRate);
  const ok = parseStages('[{"name":"a","unfreeze":{"blocks":["conv_pw_13"]},"epochs":2,"learningRate":0.001}]');
  assert.deepEqual(ok[0].unfreeze, { blocks: ['conv_pw_13'] });
  const cases: [string, RegExp][] = [
    ['[{"name":"a","unfreeze":"head","epochs":1,"learningRate":-1}]', /stages\[0\]\.learningRate: Too small/],
    ['[{"name":"a","unfreeze":"head","epochs":1.5,"learningRate":0.1}]', /stages\[0\]\.epochs: .*int/],
    ['[{"name":"a","unfreeze":"head","epochs":1,"learningRate":0.1},{"name":"b","unfreeze":"some","epochs":1,"learningRate":0.1}]', /stages\[1\]\.unfreeze: expected "head", "all", \{"topLayers": N\}/],
    ['[{"name":"a","unfreeze":{"topLayers":0},"epochs":1,"learningRate":0.1}]', /stages\[0\]\.unfreeze\.topLayers: Too small/],
    ['[{"name":"a","unfreeze":{"blocks":[]},"epochs":1,"learningRate":0.1}]', /stages\[0\]\.unfreeze\.blocks/],
    ['[{"name":"a","unfreeze":"all","epochs":1,"learningRate":0.1,"lr":1}]', /stages\[0\]: Unrecognized key: "lr"/],
    ['[{"name":"a","unfreeze":"all","epochs":1,"learningRate":0.1},{"name":"a","unfreeze":"all","epochs":1,"learningRate":0.1}]', /stages\[1\]\.name: duplicate stage name "a"/],
    ['[]', /stages: Too small/],
    ['{"name":"a"}', /stages: Invalid input: expected array/],
    ['[{"name": ', /stages: not valid JSON/],
  ];
  for (const [json, message] of cases) assert.throws(() => parseStages(json), message, json);
});

test('MobileNet V1 body: one training batch leaves every frozen BN layer bit-identical', async (t) => {
  if (!fs.existsSync(path.join(MOBILENET_V1, 'model.json'))) {
    t.skip(`no shared backbone at ${MOBILENET_V1} (the ../shared/data checkout is absent)`);
    return;
  }
  await tf.setBackend('cpu');
  const backbone = await loadBackbone(MOBILENET_V1, {});
  const model = buildFineTuneModel(backbone.body, 2, { seed: 1 });
  applyStage(model, stage({ blocks: ['conv_dw_13', 'conv_pw_13'] }, 1e-3), [HEAD_LAYER_NAME]);
  const trainable = trainableLayerNames(model);
  assert.deepEqual(trainable, ['conv_dw_13', 'conv_dw_13_bn', 'conv_pw_13', 'conv_pw_13_bn', HEAD_LAYER_NAME]);
  const bn = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.name);
  assert.equal(bn.length, 27);
  const before = snapshot(model, [...bn, 'conv1', 'conv_pw_13']);
  const [x, y] = tf.tidy(() => [backbone.preprocess(tf.randomUniform([2, 224, 224, 3], 0, 255, 'int32', 5)), tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2).toFloat()]);
  await model.trainOnBatch(x, y);
  tf.dispose([x, y]);
  const diff = changed(before, snapshot(model, [...bn, 'conv1', 'conv_pw_13']));
  const frozenChanged = diff.filter((n) => !/^conv_(dw|pw)_13/.test(n));
  assert.deepEqual(frozenChanged, [], 'all 25 frozen BN layers (gamma, beta, moving stats) and conv1 untouched');
  for (const w of ['conv_pw_13/kernel', 'conv_pw_13_bn/moving_mean', 'conv_dw_13_bn/gamma']) {
    assert.ok(diff.some((n) => n.startsWith(w)), `${w} trained`);
  }
});
