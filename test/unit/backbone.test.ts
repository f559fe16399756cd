// Backbones from local folders: the shared pretrained MobileNets (skipped when the shared
// data is absent), a tl lab CNN, cut layers, preprocessing, the model hash, and the
// loader's refusals (size and shape mismatches) on a small model written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { extractFeatures, loadBackbone, preprocessImages } from '../../lib/models/backbone';
import { buildLabCnn } from '../../lib/models/lab-cnn';
import { ModelFormatError } from '../../lib/tf/model-io';

const MODELS = path.resolve(__dirname, '../../../../shared/data/models');
const V1 = path.join(MODELS, 'mobilenet_v1_0.25_224');
const V2_TM = path.join(MODELS, 'mobilenet_v2_0.35_224_tm');
const sharedMissing = fs.existsSync(path.join(V1, 'model.json')) && fs.existsSync(path.join(V2_TM, 'model.json'))
  ? false
  : `the shared backbones are absent (${MODELS}); they come with the ../shared/data checkout`;

/** A few 224×224 RGB images with structure (gradients and a square), as uint8 bytes. */
function images(n: number, size = 224): Uint8Array {
  const out = new Uint8Array(n * size * size * 3);
  for (let i = 0; i < n; i++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const o = ((i * size + y) * size + x) * 3;
    const inSquare = Math.abs(x - 60 - 40 * i) < 30 && Math.abs(y - 100) < 30;
    out[o] = inSquare ? 250 : x % 256;
    out[o + 1] = (y * (i + 1)) % 256;
    out[o + 2] = inSquare ? 10 : 128;
  }
  return out;
}

/** Saves a model as a folder: model.json + one weights file (what tfjs-node's file:// would write). */
async function saveToFolder(model: tf.LayersModel, dir: string, metadata?: object): Promise<void> {
  if (metadata) model.setUserDefinedMetadata(metadata);
  await model.save(tf.io.withSaveHandler(async (a) => {
    fs.mkdirSync(dir, { recursive: true });
    const data = Array.isArray(a.weightData) ? Buffer.concat(a.weightData.map((b) => Buffer.from(b))) : Buffer.from(a.weightData as ArrayBuffer);
    fs.writeFileSync(path.join(dir, 'weights.bin'), data);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      modelTopology: a.modelTopology,
      format: a.format,
      userDefinedMetadata: a.userDefinedMetadata,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    }));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
  }));
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tl-backbone-'));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('MobileNet V1 0.25: 256-d features at global_average_pooling2d_1, [-1,1] input', { skip: sharedMissing }, async () => {
  await tf.setBackend('cpu');
  const b = await loadBackbone(V1, {});
  assert.deepEqual({ ...b.spec, sha256: undefined }, {
    source: V1, sha256: undefined, cutLayer: 'global_average_pooling2d_1', inputSize: [224, 224], channels: 3, scaling: 'minus1to1', featureDim: 256,
  });
  assert.deepEqual(b.body.outputs[0].shape, [null, 256]);
  assert.deepEqual(b.full.outputs[0].shape, [null, 1000]);
  const x = b.preprocess(images(2), 2);
  const features = b.body.predict(x) as tf.Tensor;
  assert.deepEqual(features.shape, [2, 256]);
  // Cutting at the 7×7×256 map adds a global average pool: the same features.
  const atMap = await loadBackbone(V1, { cutLayer: 'conv_pw_13_relu' });
  assert.equal(atMap.spec.featureDim, 256);
  assert.ok(maxAbsDiff((atMap.body.predict(x) as tf.Tensor).dataSync(), features.dataSync()) < 1e-5);
  tf.dispose([x, features]);
});

test('MobileNet V2 0.35 (Teachable Machine): the nested backbone gives the 1280-d features', { skip: sharedMissing }, async () => {
  await tf.setBackend('cpu');
  const b = await loadBackbone(V2_TM, {});
  assert.equal(b.spec.cutLayer, 'global_average_pooling2d_GlobalAveragePooling2D7');
  assert.equal(b.spec.featureDim, 1280);
  assert.equal(b.spec.scaling, 'minus1to1');
  assert.deepEqual(b.full.outputs[0].shape, [null, 5]); // the TM head we throw away
  const x = b.preprocess(images(2), 2);
  const features = (b.body.predict(x) as tf.Tensor).dataSync();
  const nested = (b.full.layers[0].apply(x) as tf.Tensor).dataSync(); // model.layers[0] is the backbone
  assert.equal(features.length, 2 * 1280);
  assert.ok(maxAbsDiff(features, nested) < 1e-5, 'same as model.layers[0]');
  // Inside the nested model: out_relu is the 7×7×1280 map before the pool.
  const inner = await loadBackbone(V2_TM, { cutLayer: 'out_relu' });
  assert.ok(maxAbsDiff((inner.body.predict(x) as tf.Tensor).dataSync(), features) < 1e-5);
  x.dispose();
});

test('an unknown cut layer is refused with candidate names', { skip: sharedMissing }, async () => {
  await tf.setBackend('cpu');
  await assert.rejects(loadBackbone(V1, { cutLayer: 'conv_pw_14_relu' }), (err: Error) => {
    assert.ok(err instanceof ModelFormatError);
    assert.match(err.message, /mobilenet_v1_0\.25_224\/model\.json: has no layer "conv_pw_14_relu"/);
    assert.match(err.message, /closest: conv_pw_13_relu, /);
    assert.match(err.message, /the default is global_average_pooling2d_1/);
    return true;
  });
});

test('the hash covers model.json and the weight bytes, and is stable', { skip: sharedMissing }, async () => {
  await tf.setBackend('cpu');
  const a = await loadBackbone(V1, {});
  const b = await loadBackbone(path.join(V1, 'model.json'), {}); // the file works as well as the folder
  assert.equal(a.spec.sha256, b.spec.sha256);
  assert.equal((await loadBackbone(pathToFileURL(V1).href, {})).spec.sha256, a.spec.sha256, 'and a file:// URL');
  const json = JSON.parse(fs.readFileSync(path.join(V1, 'model.json'), 'utf8'));
  const hash = createHash('sha256').update(JSON.stringify(json));
  for (const group of json.weightsManifest) for (const p of group.paths) hash.update(fs.readFileSync(path.join(V1, p)));
  assert.equal(a.spec.sha256, hash.digest('hex'));
  const tm = await loadBackbone(V2_TM, {});
  assert.notEqual(tm.spec.sha256, a.spec.sha256);
});

test('preprocessing maps uint8 to the scaling range', async () => {
  await tf.setBackend('cpu');
  const pixels = Uint8Array.from([0, 51, 127, 128, 255, 255]);
  const spec = (scaling: string) => ({ inputSize: [1, 2] as [number, number], channels: 3, scaling });
  const values = (scaling: string) => Array.from(preprocessImages(spec(scaling), pixels).dataSync());
  const close = (a: number[], b: number[]) => assert.ok(maxAbsDiff(a, b) < 1e-6, `${a} vs ${b}`);
  close(values('minus1to1'), [-1, 51 / 127.5 - 1, 127 / 127.5 - 1, 128 / 127.5 - 1, 1, 1]);
  close(values('zeroTo1'), [0, 0.2, 127 / 255, 128 / 255, 1, 1]);
  close(values('none'), [0, 51, 127, 128, 255, 255]);
  const t = tf.tensor4d(pixels, [1, 1, 2, 3], 'int32');
  close(Array.from(preprocessImages(spec('minus1to1'), t, 1).dataSync()), values('minus1to1'));
  assert.deepEqual(preprocessImages(spec('zeroTo1'), pixels, 1).shape, [1, 1, 2, 3]);
  assert.throws(() => preprocessImages(spec('zeroTo1'), pixels, 2), /expected 2 1×2×3 uint8 images/);
  assert.throws(() => preprocessImages(spec('zeroTo1'), pixels.subarray(1)), /multiple of 6/);
  assert.throws(() => preprocessImages(spec('zeroTo1'), tf.zeros([1, 2, 2, 3])), /shape \[n,1,2,3\]/);
  assert.throws(() => preprocessImages(spec('imagenet'), pixels), /unknown scaling "imagenet"/);
});

test('a tl lab CNN is a backbone: cut at flatten, 28×28×1, [0,1] scaling', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  const cnn = buildLabCnn(7);
  await saveToFolder(cnn, dir);
  const b = await loadBackbone(dir, {});
  assert.deepEqual({ ...b.spec, sha256: undefined, source: undefined }, {
    source: undefined, sha256: undefined, cutLayer: 'flatten', inputSize: [28, 28], channels: 1, scaling: 'zeroTo1', featureDim: 7 * 7 * 32,
  });
  const pixels = new Uint8Array(3 * 28 * 28).map((_, i) => (i * 37) % 256);
  const x = b.preprocess(pixels, 3);
  const expected = tf.model({ inputs: cnn.inputs, outputs: cnn.getLayer('flatten').output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
  assert.ok(maxAbsDiff((b.body.predict(x) as tf.Tensor).dataSync(), expected.dataSync()) < 1e-6);
  const batched = await extractFeatures(b, pixels, 2); // batches of 2 and 1
  assert.equal(batched.length, 3 * 1568);
  assert.ok(maxAbsDiff(batched, expected.dataSync()) < 1e-6);

  // Recorded scaling wins over the rule, and an explicit option over both.
  const recorded = tmp();
  await saveToFolder(buildLabCnn(7), recorded, { scaling: 'none' });
  assert.equal((await loadBackbone(recorded, {})).spec.scaling, 'none');
  assert.equal((await loadBackbone(recorded, { scaling: 'minus1to1' })).spec.scaling, 'minus1to1');
  const bad = tmp();
  await saveToFolder(buildLabCnn(7), bad, { scaling: 'imagenet' });
  await assert.rejects(loadBackbone(bad, {}), /userDefinedMetadata\.scaling is "imagenet"/);
});

test('a nested model applied as a layer is searched for the default cut', async () => {
  await tf.setBackend('cpu');
  const innerIn = tf.input({ shape: [16, 16, 3] });
  let h = tf.layers.conv2d({ name: 'inner_conv', filters: 5, kernelSize: 3 }).apply(innerIn) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({ name: 'inner_gap' }).apply(h) as tf.SymbolicTensor;
  const inner = tf.model({ inputs: innerIn, outputs: h, name: 'inner' });
  const outerIn = tf.input({ shape: [16, 16, 3] });
  const outer = tf.model({ inputs: outerIn, outputs: tf.layers.dense({ units: 2, activation: 'softmax', name: 'cls' }).apply(inner.apply(outerIn)) as tf.SymbolicTensor });
  const dir = tmp();
  await saveToFolder(outer, dir);
  const b = await loadBackbone(dir, {});
  assert.equal(b.spec.cutLayer, 'inner_gap');
  assert.equal(b.spec.featureDim, 5);
  const conv = await loadBackbone(dir, { cutLayer: 'inner_conv' });
  const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 1);
  assert.ok(maxAbsDiff((conv.body.predict(x) as tf.Tensor).dataSync(), (b.body.predict(x) as tf.Tensor).dataSync()) < 1e-6);
});

test('the loader names the file or weight when shards and shapes do not match', async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  await saveToFolder(buildLabCnn(1), dir);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const write = (name: string, value: unknown) => fs.writeFileSync(path.join(dir, name), JSON.stringify(value));
  const where = path.join(dir, 'model.json');

  // A truncated shard: the first weight that does not fit is named.
  fs.writeFileSync(path.join(dir, 'short.bin'), fs.readFileSync(path.join(dir, 'weights.bin')).subarray(0, 1000));
  write('model.json', { ...json, weightsManifest: [{ ...json.weightsManifest[0], paths: ['short.bin'] }] });
  await assert.rejects(loadBackbone(dir, {}), (err: Error) => err instanceof ModelFormatError && err.message.startsWith(`model ${where}: weight "conv1/kernel"`) && /short\.bin/.test(err.message));

  // A manifest shape that disagrees with the topology (same byte count): the weight is named.
  const weights = json.weightsManifest[0].weights.map((w: tf.io.WeightsManifestEntry) => (w.name === 'conv1/kernel' ? { ...w, shape: [5, 5, 16, 1] } : w));
  write('model.json', { ...json, weightsManifest: [{ paths: ['weights.bin'], weights }] });
  await assert.rejects(loadBackbone(dir, {}), /weight "conv1\/kernel" has shape \[5,5,16,1\] in the weights manifest but the layer expects \[5,5,1,16\]/);

  // A missing shard, and a path out of the folder.
  write('model.json', { ...json, weightsManifest: [{ ...json.weightsManifest[0], paths: ['gone.bin'] }] });
  await assert.rejects(loadBackbone(dir, {}), /weights file "gone\.bin" listed in model\.json does not exist \(holds conv1\/kernel/);
  write('model.json', { ...json, weightsManifest: [{ ...json.weightsManifest[0], paths: ['../weights.bin'] }] });
  await assert.rejects(loadBackbone(dir, {}), /weights path "\.\.\/weights\.bin" escapes the model's folder/);
  const outside = path.join(tmp(), 'outside.bin');
  fs.copyFileSync(path.join(dir, 'weights.bin'), outside);
  fs.symlinkSync(outside, path.join(dir, 'link.bin'));
  write('model.json', { ...json, weightsManifest: [{ ...json.weightsManifest[0], paths: ['link.bin'] }] });
  await assert.rejects(loadBackbone(dir, {}), /weights path "link\.bin" escapes the model's folder \(via a symlink\)/);
  await assert.rejects(loadBackbone(path.join(dir, 'nothing-here'), {}), /nothing-here\/model\.json: model\.json does not exist/);
});
