// Fine-tuning recipe ingredients: warm-up + cosine rates, the stage plan from data size,
// discriminative learning rates (one Adam per depth group) and label smoothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { learningRateAt } from '../../lib/training/lr-schedule';
import { stagePlan } from '../../lib/models/stage-plan';
import { HEAD_LAYER_NAME, applyStage, buildFineTuneModel } from '../../lib/models/fine-tune';
import { LayerwiseAdam } from '../../lib/training/layerwise-adam';

test('warm-up rises linearly to the base rate, then cosine falls to 1 % of it', () => {
  const rates = Array.from({ length: 100 }, (_, i) => learningRateAt('warmup-cosine', 1e-3, i, 100));
  assert.ok(Math.abs(rates[0] - 1e-4) < 1e-12, `first step at base/10: ${rates[0]}`);
  assert.ok(Math.abs(rates[9] - 1e-3) < 1e-12, 'warm-up ends at the base rate');
  for (let i = 10; i < 100; i++) assert.ok(rates[i] <= rates[i - 1] + 1e-15, `non-increasing after warm-up (step ${i})`);
  assert.ok(Math.abs(rates[99] - 1e-5) < 1e-12, `last step at the floor: ${rates[99]}`);
  assert.equal(learningRateAt('constant', 1e-3, 57, 100), 1e-3);
});

test('the stage plan unfreezes deeper as the training set grows', () => {
  const depth = (n: number) => stagePlan(n).stages.map((s) => (s.unfreeze === 'all' ? Infinity : s.unfreeze === 'head' ? 0 : 'topLayers' in s.unfreeze ? s.unfreeze.topLayers : NaN));
  assert.deepEqual(depth(244), [0, 20]);
  assert.deepEqual(depth(5000), [0, 20, 60]);
  assert.deepEqual(depth(50_000), [0, 40, Infinity]);
  assert.match(stagePlan(244).reason, /^244 training images \(< 1,000\)/);
});

/** conv ×6 → GAP: a body deep enough for three depth groups. */
function body(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  let x: tf.SymbolicTensor = input;
  for (let i = 1; i <= 6; i++) x = tf.layers.conv2d({ name: `c${i}`, filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: i }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor });
}

const kernels = (m: tf.LayersModel): Record<number, Float32Array> => Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [i, Float32Array.from(m.getLayer(`c${i}`).getWeights()[0].dataSync())]));
const moved = (a: Float32Array, b: Float32Array) => a.reduce((mx, v, i) => Math.max(mx, Math.abs(v - b[i])), 0);

test('layer decay: the top third learns at the stage rate, deeper thirds at ×d and ×d²', async () => {
  const model = buildFineTuneModel(body(), 2, { seed: 1 });
  applyStage(model, { name: 'all', unfreeze: 'all', epochs: 1, learningRate: 1e-2 }, [HEAD_LAYER_NAME], { layerDecay: 1e-4 });
  assert.ok(model.optimizer instanceof LayerwiseAdam);
  const before = kernels(model);
  const x = tf.randomNormal([8, 6, 6, 2], 0, 1, 'float32', 5);
  const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2).toFloat();
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  const after = kernels(model);
  const steps = [1, 2, 3, 4, 5, 6].map((i) => moved(before[i], after[i]));
  // Adam moves each weight by about the rate per step: top (c5, c6) ~1e-2, middle ~1e-6, bottom ~1e-10.
  assert.ok(steps[5] > 1e-3 && steps[4] > 1e-3, `top group moves: ${steps}`);
  assert.ok(steps[2] < 1e-5 && steps[3] < 1e-5 && steps[2] > 0, `middle group barely: ${steps}`);
  assert.ok(steps[0] < 1e-8 && steps[1] < 1e-8, `bottom group least: ${steps}`);
  // Its state round-trips per group (what checkpoints store).
  const state = await model.optimizer.getWeights();
  assert.ok(state.every((w) => /^g[012]\//.test(w.name)), state.map((w) => w.name).join());
  const fresh = new LayerwiseAdam(1e-2, [1, 1e-4, 1e-8], () => 0);
  await fresh.setWeights(state);
  assert.equal((await fresh.getWeights()).length, state.length);
  model.optimizer.learningRate = 1e-3; // what schedules assign
  assert.equal((model.optimizer as LayerwiseAdam).learningRate, 1e-3);
  tf.dispose([x, y]);
});

test('label smoothing: a confident correct prediction costs more than with hard targets', async () => {
  const score = (labelSmoothing: number) => {
    const model = buildFineTuneModel(body(), 2, { seed: 1 });
    applyStage(model, { name: 'head', unfreeze: 'head', epochs: 1, learningRate: 1e-3 }, [HEAD_LAYER_NAME], { labelSmoothing });
    const yTrue = tf.tensor2d([[1, 0]]);
    const yPred = tf.tensor2d([[0.999, 0.001]]);
    const loss = (model as unknown as { lossFunctions: ((a: tf.Tensor, b: tf.Tensor) => tf.Tensor)[] }).lossFunctions[0](yTrue, yPred);
    return loss.dataSync()[0];
  };
  const hard = score(0);
  const smooth = score(0.1);
  assert.ok(hard < 0.002, `hard targets: ${hard}`);
  // (0.95·−ln 0.999 + 0.05·−ln 0.001) ≈ 0.346
  assert.ok(Math.abs(smooth - 0.346) < 0.01, `ε = 0.1: ${smooth}`);
});
