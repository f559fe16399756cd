// Folding batch norm into the convolutions of an inference-only backbone, and of the frozen
// layers of a fine-tuning stage: same outputs and training steps, fewer ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { foldBatchNormForInference } from '../../lib/models/fold-batch-norm';
import { HEAD_LAYER_NAME, applyStage, buildFineTuneModel, setBatchNormInferenceMode } from '../../lib/models/fine-tune';
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

test('fine-tuning stages fold the frozen layers below the trained ones: same steps as unfolded, refolded per stage', async () => {
  await tf.setBackend('cpu');
  const model = buildFineTuneModel(network(), 2, { seed: 1 });
  const twin = buildFineTuneModel(network(), 2, { seed: 1 });
  twin.setWeights(model.getWeights());
  const x = tensorOf(randn([4, 9, 9, 3], 11));
  const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2);
  // A training-mode call moves trained batch norms' statistics: make it on the twin too.
  const bnKernels = async (m: tf.LayersModel) => {
    twin.apply(x, { training: true });
    return (await tf.profile(() => m.apply(x, { training: true }) as tf.Tensor)).kernels.filter((k) => k.name === 'FusedBatchNorm').length;
  };
  /** The stage by hand, without folding: what applyStage meant before it folded. */
  const twinStage = (trained: string[], learningRate: number) => {
    for (const layer of twin.layers) {
      layer.trainable = layer.name === HEAD_LAYER_NAME || trained.includes(layer.name);
      if (layer.getClassName() === 'BatchNormalization') setBatchNormInferenceMode(layer, !layer.trainable);
    }
    twin.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy' });
  };
  const stepBoth = async (what: string) => {
    const [a, b] = [(await model.trainOnBatch(x, y)) as number[], (await twin.trainOnBatch(x, y)) as unknown as number];
    assert.ok(Math.abs(a[0] - b) < 1e-5, `${what}: loss ${a[0]} vs ${b}`);
    const [mw, tw] = [model.getWeights(), twin.getWeights()];
    mw.forEach((w, i) => {
      // A conv bias that a training-mode batch norm cancels gets a gradient of rounding noise,
      // and Adam's first step is ≈ lr·sign(g): not comparable.
      if (/^c[14]\/bias/.test(model.weights[i].name) && what === 'all stage') return;
      assertClose(w.dataSync() as Float32Array, tw[i].dataSync() as Float32Array, `${what}: ${model.weights[i].name}`, 1e-5);
    });
  };

  // Head only: the whole body is frozen; c1, d2 and c3 fold (c4 feeds two layers).
  applyStage(model, { name: 'head', unfreeze: 'head', epochs: 1, learningRate: 0.01 }, [HEAD_LAYER_NAME]);
  twinStage([], 0.01);
  assert.equal(await bnKernels(model), 1, 'only bn4 runs in training mode');
  await stepBoth('head stage');

  // The top 4 weight-bearing layers (c3, bn3, c4, bn4) train: c1 and d2 stay folded.
  applyStage(model, { name: 'top', unfreeze: { topLayers: 4 }, epochs: 1, learningRate: 0.01 }, [HEAD_LAYER_NAME]);
  twinStage(['c3', 'bn3', 'c4', 'bn4'], 0.01);
  assert.equal(await bnKernels(model), 2, 'bn3 and bn4 run; bn1 and bn2 are folded');
  await stepBoth('top stage');

  // Weights loaded after folding (a resumed checkpoint) are what the folded layers use.
  const c1 = tf.mul(model.getLayer('c1').getWeights()[0], 1.5);
  model.getLayer('c1').setWeights([c1, model.getLayer('c1').getWeights()[1]]);
  twin.getLayer('c1').setWeights([c1, twin.getLayer('c1').getWeights()[1]]);
  await stepBoth('after loading weights');

  // Everything trains: nothing stays folded, batch norms use batch statistics again.
  applyStage(model, { name: 'all', unfreeze: 'all', epochs: 1, learningRate: 0.001 }, [HEAD_LAYER_NAME]);
  for (const layer of twin.layers) if (layer.getClassName() === 'BatchNormalization') setBatchNormInferenceMode(layer, false);
  twinStage(twin.layers.map((l) => l.name), 0.001);
  assert.equal(await bnKernels(model), 4);
  await stepBoth('all stage');
});
