import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { runEpochs, setLearningRate } from '../../lib/training/epochs';

function tinyModel() {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })] });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

const x = Float32Array.from({ length: 64 }, (_, i) => ((i * 37) % 17) / 17 - 0.5);
const label = (i: number) => (x[2 * i] + x[2 * i + 1] > 0 ? 1 : 0);
const makeBatch = (idx: Uint32Array) => ({
  x: tf.tensor2d(Array.from(idx, (i) => [x[2 * i], x[2 * i + 1]])),
  y: tf.oneHot(tf.tensor1d(Array.from(idx, label), 'int32'), 2),
});

test('runs the epochs, reports batches and records, and applies the schedule', async () => {
  await tf.setBackend('cpu');
  const model = tinyModel();
  const rates: number[] = [];
  let batches = 0;
  const records = await runEpochs({
    model,
    trainIndices: Uint32Array.from({ length: 32 }, (_, i) => i),
    batchSize: 8,
    firstEpoch: 2,
    lastEpoch: 4,
    seed: 3,
    makeBatch,
    learningRate: (epoch) => 0.1 / epoch,
    validate: async () => ({ loss: 0.5, accuracy: 0.5 }),
    onBatch: () => batches++,
    onEpochEnd: async () => {
      rates.push((model.optimizer as unknown as { learningRate: number }).learningRate);
    },
  });
  assert.deepEqual(records.map((r) => r.epoch), [2, 3, 4]);
  assert.equal(batches, 3 * 4);
  assert.deepEqual(rates, [0.05, 0.1 / 3, 0.025]);
  assert.ok(records.every((r) => r.imagesPerSecond > 0 && r.valAccuracy === 0.5));
});

test("'stop' from onEpochEnd ends training early", async () => {
  await tf.setBackend('cpu');
  const records = await runEpochs({
    model: tinyModel(),
    trainIndices: Uint32Array.from({ length: 16 }, (_, i) => i),
    batchSize: 8,
    firstEpoch: 1,
    lastEpoch: 10,
    seed: 1,
    makeBatch,
    validate: async () => ({ loss: 1, accuracy: 0 }),
    onEpochEnd: async (r) => (r.epoch === 2 ? 'stop' : undefined),
  });
  assert.equal(records.length, 2);
});

test('a learning rate of zero leaves the weights alone', async () => {
  await tf.setBackend('cpu');
  const model = tinyModel();
  setLearningRate(model.optimizer, 0);
  const before = model.getWeights()[0].dataSync().slice();
  const batch = makeBatch(Uint32Array.from([0, 1, 2, 3]));
  await model.trainOnBatch(batch.x, batch.y);
  assert.deepEqual(model.getWeights()[0].dataSync(), before);
});
