// The native backend's fused kernels (lib/tf/native-kernels.ts) against tfjs's own gradients on cpu.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/tf/backend';
import { fusedBatchNormTraining } from '../../lib/tf/native-kernels';
import { assertClose, assertLabCnnStepMatchesCpu, compareWithCpu, on, randn, tensorOf } from './backend-compare';

// The native backend is optional (scripts/native-backend.sh); CI installs it.
const skip = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return false;
  } catch {
    return 'tfjs-node is not installed';
  }
})();

test('the tensorflow backend registers its fused kernels', { skip }, async () => {
  await initBackend({ queue: 'cpu', forced: 'tensorflow' });
  for (const k of ['TlReluGrad', 'TlRelu6Grad', 'TlFusedBatchNormTrain', 'TlFusedBatchNormTrainGrad']) {
    assert.ok(tf.getKernel(k, 'tensorflow'), k);
  }
});

test('ReLU and ReLU6 gradients match cpu', { skip }, async () => {
  // Values on both sides of 0 and 6, and exactly 0 (derivative 0 on both). At exactly 6,
  // TensorFlow (and PyTorch) take ReLU6's derivative as 0 where tfjs takes 1; not tested.
  const x = randn([2, 5, 5, 3], 3);
  for (let i = 0; i < x.data.length; i++) x.data[i] = i % 11 === 0 ? 0 : x.data[i] * 5;
  const dy = randn([2, 5, 5, 3], 4);
  for (const f of [tf.relu, tf.relu6]) {
    await compareWithCpu('tensorflow', f.name, () => [tf.grad((v: tf.Tensor) => tf.mul(f(v), tensorOf(dy)).sum())(tensorOf(x))], 1e-6);
  }
});

test('max-pool gradients match cpu: the 2×2 fast path and the cases it leaves to tfjs', { skip }, async () => {
  const x = randn([2, 6, 8, 3], 11); // continuous values: no ties within a window
  const cases: [number, number, 'valid' | 'same'][] = [[2, 2, 'valid'], [3, 2, 'valid'], [2, 1, 'same'], [2, 2, 'same']];
  for (const [size, stride, pad] of cases) {
    const dy = randn(tf.maxPool(tensorOf(x) as tf.Tensor4D, size, stride, pad).shape, 12);
    await compareWithCpu('tensorflow', `maxPool ${size}/${stride} ${pad}`, () => [
      tf.grad((v: tf.Tensor) => tf.mul(tf.maxPool(v as tf.Tensor4D, size, stride, pad), tensorOf(dy)).sum())(tensorOf(x)),
    ], 1e-6);
  }
});

test("the layers' relu6 activation runs the Relu6 kernel, with the same values and gradients as on cpu", { skip }, async () => {
  await initBackend({ queue: 'cpu', forced: 'tensorflow' });
  const x = randn([2, 4, 4, 3], 14);
  for (let i = 0; i < x.data.length; i++) x.data[i] *= 6; // well past both kinks
  const layer = () => tf.layers.activation({ activation: 'relu6' });
  const { kernels } = await tf.profile(() => layer().apply(tensorOf(x)) as tf.Tensor);
  assert.deepEqual(kernels.map((k) => k.name).filter((n) => /Relu|Minimum/.test(n)), ['Relu6']);
  await compareWithCpu('tensorflow', 'relu6 layer', () => {
    const f = (v: tf.Tensor) => layer().apply(v) as tf.Tensor;
    return [f(tensorOf(x)), tf.grad((v: tf.Tensor) => tf.mul(f(v), v).sum())(tensorOf(x))];
  }, 1e-6);
});

test('fused batch norm in training mode: output, statistics and gradients match tf.moments + tf.batchNorm', { skip }, async () => {
  const shape = [3, 4, 5, 6];
  const x = randn(shape, 5), dy = randn(shape, 6), scale = randn([6], 7), offset = randn([6], 8);
  const eps = 1e-3;
  const [native] = [await on('tensorflow', () => {
    const [xs, s, o] = [tensorOf(x), tensorOf(scale), tensorOf(offset)] as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
    const { y, mean, variance } = fusedBatchNormTraining(xs, s, o, eps);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const out = fusedBatchNormTraining(a as tf.Tensor4D, b as tf.Tensor1D, c as tf.Tensor1D, eps);
      tf.dispose([out.mean, out.variance]);
      return tf.mul(out.y, tensorOf(dy)).sum();
    })([xs, s, o]);
    return [y, mean, variance, ...grads];
  })];
  const reference = await on('cpu', () => {
    const [xs, s, o] = [tensorOf(x), tensorOf(scale), tensorOf(offset)];
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const m = tf.moments(a, [0, 1, 2]);
      return tf.batchNorm(a, m.mean, m.variance, c, b, eps);
    };
    const m = tf.moments(xs, [0, 1, 2]);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.mul(f(a, b, c), tensorOf(dy)).sum())([xs, s, o]);
    return [f(xs, s, o), m.mean, m.variance, ...grads];
  });
  const names = ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset'];
  assert.equal(native.length, names.length);
  native.forEach((v, i) => assertClose(v, reference[i], names[i], 1e-4));
});

test('a training step of the lab CNN on tensorflow matches cpu, moving statistics included', { skip }, async () => {
  await initBackend({ queue: 'cpu', forced: 'tensorflow' });
  await assertLabCnnStepMatchesCpu('tensorflow');
});

test('training skips the gradient of the input images (no Conv2DBackpropInput for the first layer)', { skip }, async () => {
  await initBackend({ queue: 'cpu', forced: 'tensorflow' });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], kernelSize: 3, filters: 4, padding: 'same' }),
      tf.layers.conv2d({ kernelSize: 3, filters: 4, padding: 'same', useBias: false }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  const x = tensorOf(randn([3, 8, 8, 1], 13));
  const y = tf.oneHot(tf.tensor1d([0, 1, 1], 'int32'), 2);
  const { kernels } = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
  });
  const count = (name: string) => kernels.filter((k) => k.name === name).length;
  assert.deepEqual([count('Conv2DBackpropInput'), count('Conv2DBackpropFilter')], [1, 2], kernels.map((k) => k.name).join(','));
  const inference = await tf.profile(() => model.predict(x) as tf.Tensor);
  assert.equal(inference.kernels.filter((k) => k.name === 'FusedConv2D').length, 2, 'inference keeps the fused kernel');
  tf.dispose([x, y]);
  model.dispose();
});

test('only training-mode batch norm on the tensorflow backend takes the fused path', { skip }, async () => {
  const kernelsOf = async (backend: string, training: boolean) => {
    await tf.setBackend(backend);
    const layer = tf.layers.batchNormalization();
    const x = tensorOf(randn([2, 3, 3, 4], 9));
    const { kernels } = await tf.profile(() => layer.apply(x, { training }) as tf.Tensor);
    const movingMean = layer.getWeights()[2].dataSync();
    layer.dispose();
    x.dispose();
    return { names: kernels.map((k) => k.name), movingMean };
  };
  await initBackend({ queue: 'cpu', forced: 'tensorflow' });
  const trained = await kernelsOf('tensorflow', true);
  assert.ok(trained.names.includes('TlFusedBatchNormTrain'), trained.names.join(','));
  assert.ok(trained.movingMean.some((v) => v !== 0), 'training updates the moving mean');
  const inference = await kernelsOf('tensorflow', false);
  assert.ok(!inference.names.includes('TlFusedBatchNormTrain'), inference.names.join(','));
  assert.ok(inference.movingMean.every((v) => v === 0), 'inference leaves the moving mean alone');
  const cpu = await kernelsOf('cpu', true);
  assert.ok(!cpu.names.includes('TlFusedBatchNormTrain') && cpu.names.includes('FusedBatchNorm'), cpu.names.join(','));
});
