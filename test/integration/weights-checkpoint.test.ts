// Weight checkpoints (lib/training/weights.ts) in the real store: a model restored from one,
// optimizer state included, continues training exactly as the model that was saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { testConfig, testEnv, testStore } from './harness';
import { loadWeights, saveWeights } from '../../lib/training/weights';

const store = testStore(testConfig(testEnv()));

function model(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
  return m;
}

const x = tf.tensor2d(Array.from({ length: 48 }, (_, i) => Math.sin(i * 1.7)), [8, 6]);
const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
const values = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('a restored checkpoint continues training exactly: weights, batch-norm statistics and Adam state', async () => {
  await tf.setBackend('cpu');
  const original = model();
  for (let i = 0; i < 3; i++) await original.trainOnBatch(x, y);
  const key = await saveWeights(store, `test/weights-${randomBytes(4).toString('hex')}`, original);

  const restored = model();
  await restored.trainOnBatch(x, y); // its own, different optimizer history, which the checkpoint replaces
  await loadWeights(store, key, restored);
  assert.deepEqual(values(restored), values(original), 'weights as saved');

  await original.trainOnBatch(x, y);
  await restored.trainOnBatch(x, y);
  const [a, b] = [values(original), values(restored)];
  a.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - b[i]![j]!) < 1e-6, `weight ${i}[${j}]: ${v} vs ${b[i]![j]}`)));
  assert.equal((restored.optimizer as unknown as { iterations: number }).iterations, 4, "Adam's step count continues");
});
