import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { defaultReadEvery, runEpochs, setLearningRate } from '../../lib/training/epochs';

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

test('readEvery defers loss reads without changing what is reported', async () => {
  await tf.setBackend('cpu');
  const run = async (readEvery: number) => {
    const model = tinyModel();
    let made = 0;
    const seen: { batch: number; loss: number; madeBefore: number }[] = [];
    const records = await runEpochs({
      model,
      trainIndices: Uint32Array.from({ length: 32 }, (_, i) => i),
      batchSize: 8,
      firstEpoch: 1,
      lastEpoch: 2,
      seed: 5,
      makeBatch: (idx) => (made++, makeBatch(idx)),
      validate: async () => ({ loss: 0, accuracy: 0 }),
      onBatch: (p) => seen.push({ batch: p.batch, loss: p.loss, madeBefore: made }),
      readEvery,
    });
    model.dispose();
    return { records, seen };
  };
  const eager = await run(1);
  const deferred = await run(3);
  // Same steps, so the same losses, batch by batch and per epoch.
  assert.deepEqual(deferred.seen.map((s) => [s.batch, s.loss]), eager.seen.map((s) => [s.batch, s.loss]));
  assert.deepEqual(deferred.records.map((r) => [r.loss, r.accuracy]), eager.records.map((r) => [r.loss, r.accuracy]));
  // Eager: batch k is reported after k batches were made. Deferred: batches 1-3 are reported
  // once the third is made, batch 4 at the end of its epoch.
  assert.deepEqual(eager.seen.map((s) => s.madeBefore), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(deferred.seen.map((s) => s.madeBefore), [3, 3, 3, 4, 7, 7, 7, 8]);
  assert.equal(defaultReadEvery('webgpu'), 8);
  assert.equal(defaultReadEvery('tensorflow'), 1);
});

test("an epoch's loss and accuracy are those trainOnBatch reports for the same step", async () => {
  await tf.setBackend('cpu');
  const all = Uint32Array.from({ length: 32 }, (_, i) => i);
  const [record] = await runEpochs({
    model: tinyModel(),
    trainIndices: all,
    batchSize: 32, // one batch: its mean loss does not depend on the shuffled order
    firstEpoch: 1,
    lastEpoch: 1,
    seed: 9,
    makeBatch,
    validate: async () => ({ loss: 0, accuracy: 0 }),
  });
  const batch = makeBatch(all);
  const [loss, accuracy] = (await tinyModel().trainOnBatch(batch.x, batch.y)) as number[];
  assert.ok(Math.abs(record.loss - loss) < 1e-6, `${record.loss} vs ${loss}`);
  assert.ok(Math.abs(record.accuracy - accuracy) < 1e-6, `${record.accuracy} vs ${accuracy}`);
});
