// Folding batch norm into the convolutions of an inference-only backbone: same outputs, fewer ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { foldBatchNormForInference } from '../../lib/models/fold-batch-norm';
import { assertClose, randn, tensorOf } from './backend-compare';

/** conv(bias) → BN → relu6 → depthwise → BN → relu → conv → BN → (branch) → pooled features. */
function network(): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu6' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'valid', useBias: false, name: 'd2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  const c3 = tf.layers.conv2d({ filters: 5, kernelSize: 1, useBias: false, name: 'c3' }).apply(x) as tf.SymbolicTensor;
  const bn3 = tf.layers.batchNormalization({ name: 'bn3' }).apply(c3) as tf.SymbolicTensor;
  // c4's output also feeds a second branch, so c4 cannot be folded into bn4.
  const c4 = tf.layers.conv2d({ filters: 5, kernelSize: 1, name: 'c4' }).apply(x) as tf.SymbolicTensor;
  const bn4 = tf.layers.batchNormalization({ name: 'bn4' }).apply(c4) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([bn3, bn4, c4]) as tf.SymbolicTensor;
  const out = tf.layers.globalAveragePooling2d({}).apply(sum) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  // Non-trivial statistics: moving mean/variance and γ/β away from 0/1.
  let seed = 100;
  for (const bn of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const [gamma, beta, mean, variance] = bn.getWeights();
    bn.setWeights([
      tf.add(1, tf.mul(0.3, tensorOf(randn(gamma.shape, seed++)))),
      tensorOf(randn(beta.shape, seed++)),
      tensorOf(randn(mean.shape, seed++)),
      tf.add(0.5, tf.abs(tensorOf(randn(variance.shape, seed++)))),
    ]);
  }
  return model;
}

test('folded inference gives the same features with no batch-norm kernels; training mode is untouched', async () => {
  await tf.setBackend('cpu');
  const model = network();
  const twin = network();
  twin.setWeights(model.getWeights());
  const x = tensorOf(randn([2, 9, 9, 3], 7));
  const inference = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;

  assert.equal(foldBatchNormForInference(model), 3, 'c1, d2 and c3 fold; c4 has two consumers');
  const { kernels } = await tf.profile(() => model.predict(x) as tf.Tensor);
  const names = kernels.map((k) => k.name);
  assert.equal(names.filter((n) => n === 'FusedBatchNorm').length, 1, `only bn4 is left: ${names.join(',')}`);
  assert.ok(!names.includes('Relu6'), 'relu6 is fused into the convolution');
  assertClose((model.predict(x) as tf.Tensor).dataSync() as Float32Array, inference, 'folded inference', 1e-5);

  // Training mode (batch statistics) runs the original layers: the same as an unfolded twin.
  const trained = (model.apply(x, { training: true }) as tf.Tensor).dataSync() as Float32Array;
  assertClose(trained, (twin.apply(x, { training: true }) as tf.Tensor).dataSync() as Float32Array, 'training mode', 1e-6);
});
