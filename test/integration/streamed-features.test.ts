// Feature shards streamed from real MinIO: the store's objects read shard by shard, each
// part's rows exactly those trainValidationSplit drew, and the head they give is the one
// fitted from the loaded split.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { testConfig, testEnv, testStore } from './harness';
import { trainValidationSplit } from '../../lib/data/dataset';
import { loadFeatureSplit, selectRows, type FeatureShardRef } from '../../lib/data/features';
import { ShardRowCache, splitMembership, streamedFeatureRows } from '../../lib/data/streamed-features';
import { fitLogisticRegression } from '../../lib/models/logistic-regression';

const store = testStore(testConfig(testEnv()));
const prefix = `test/streamed-features-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const dim = 8;
const k = 3;

after(async () => {
  for (const key of await store.list(`${prefix}/`)) await store.delete(key);
});

/** Seeded standard normals (Box–Muller over an LCG). */
function normals(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Uneven shards; feature 0 of each row is its index in the split, the rest a noisy class signal. */
async function putShards(sizes: number[]): Promise<FeatureShardRef[]> {
  const randn = normals(17);
  let row = 0;
  const shards: FeatureShardRef[] = [];
  for (const [s, count] of sizes.entries()) {
    const x = new Float32Array(count * dim);
    const y = new Uint8Array(count);
    for (let r = 0; r < count; r++, row++) {
      y[r] = (row * 5) % k;
      x[r * dim] = row;
      for (let j = 1; j < dim; j++) x[r * dim + j] = (j % k === y[r] ? 0.8 : 0) + randn() * 1.5 + j;
    }
    const ref = { split: 'train', count, features: `${prefix}/train-${s}.f32`, labels: `${prefix}/labels-${s}.u8` };
    await store.putBytes(ref.features, new Uint8Array(x.buffer));
    await store.putBytes(ref.labels, y);
    shards.push(ref);
  }
  return shards;
}

test('streamed from MinIO: shard by shard, the split drawn by trainValidationSplit, the loaded fit', async () => {
  await tf.setBackend('cpu');
  const shards = await putShards([300, 41, 500, 159]);
  const count = 1000;
  const split = trainValidationSplit(count, { seed: 3, validationFraction: 0.15 });
  const membership = splitMembership(count, split);

  // Count the store's reads without changing what it does.
  const reads: string[] = [];
  const counted = { getBytes: (key: string) => (reads.push(key), store.getBytes(key)) };
  const train = streamedFeatureRows(counted, shards, dim, membership, 'train');
  const validation = streamedFeatureRows(counted, shards, dim, membership, 'validation');
  const ids = async (rows: typeof train) => {
    const out: number[] = [];
    await rows.forEachChunk(async (x, _y, n) => {
      for (let r = 0; r < n; r++) out.push(x[r * dim]);
    });
    return out;
  };
  assert.deepEqual(await ids(train), Array.from(split.train).sort((a, b) => a - b));
  assert.deepEqual(reads.filter((key) => key.endsWith('.f32')), shards.map((s) => s.features), 'one read per shard, in order');
  assert.deepEqual(await ids(validation), Array.from(split.validation).sort((a, b) => a - b));

  // The index feature is zeroed in the store too: the heads must not see it.
  const loaded = await loadFeatureSplit(store, shards, 'train', dim);
  for (let i = 0; i < count; i++) loaded.x[i * dim] = 0;
  for (const [s, shard] of shards.entries()) {
    await store.putBytes(shard.features, new Uint8Array(loaded.x.slice(offsetOf(shards, s) * dim, (offsetOf(shards, s) + shard.count) * dim).buffer));
  }
  const inMemory = await fitLogisticRegression({ train: selectRows(loaded, split.train), val: selectRows(loaded, split.validation), dim, numClasses: k }, { seed: 1 });
  const before = tf.memory().numTensors;
  const cache = new ShardRowCache(200 * dim * 4); // less than a shard: every pass reads again
  reads.length = 0;
  const streamed = await fitLogisticRegression(
    { train: streamedFeatureRows(counted, shards, dim, membership, 'train', { cache }), val: streamedFeatureRows(counted, shards, dim, membership, 'validation', { cache }), dim, numClasses: k },
    { seed: 1 },
  );
  assert.equal(tf.memory().numTensors, before);
  assert.ok(reads.length > 20 * shards.length, `${reads.length} reads`);
  assert.equal(streamed.l2, inMemory.l2);
  const diff = Math.max(...Array.from(streamed.weights, (w, i) => Math.abs(w - inMemory.weights[i])));
  assert.ok(diff < 1e-4, `weights differ by ${diff}`);
  assert.equal(streamed.valAccuracy, inMemory.valAccuracy);
});

function offsetOf(shards: FeatureShardRef[], index: number): number {
  return shards.slice(0, index).reduce((n, s) => n + s.count, 0);
}
