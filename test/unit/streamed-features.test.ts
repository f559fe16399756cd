// Train's feature shards streamed from a store: shard by shard, the rows of exactly the part
// trainValidationSplit drew, a cache that keeps what fits, and the same head as loading them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { trainValidationSplit } from '../../lib/data/dataset';
import { loadFeatureSplit, selectRows, type FeatureShardRef } from '../../lib/data/features';
import { ShardRowCache, splitMembership, streamedFeatureRows } from '../../lib/data/streamed-features';
import { fitLogisticRegression } from '../../lib/models/logistic-regression';

/** Objects by key, and the order they were read in. */
function memoryStore() {
  const objects = new Map<string, Uint8Array>();
  const reads: string[] = [];
  return {
    objects,
    reads,
    async getBytes(key: string): Promise<Uint8Array> {
      reads.push(key);
      const bytes = objects.get(key);
      if (!bytes) throw new Error(`no object ${key}`);
      return bytes.slice();
    },
  };
}

/** Seeded standard normals (Box–Muller over an LCG). */
function normals(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/**
 * Shards of the given sizes whose rows carry their own index in feature 0 (the rest is a
 * noisy class signal), so a test can tell which rows a source yielded.
 */
function storeShards(sizes: number[], dim: number, k: number) {
  const store = memoryStore();
  const shards: FeatureShardRef[] = [];
  const randn = normals(sizes.length);
  let row = 0;
  sizes.forEach((count, s) => {
    const x = new Float32Array(count * dim);
    const y = new Uint8Array(count);
    for (let r = 0; r < count; r++, row++) {
      y[r] = (row * 7) % k;
      x[r * dim] = row;
      for (let j = 1; j < dim; j++) x[r * dim + j] = (j % k === y[r] ? 1 : 0) + randn() * 1.5 + j;
    }
    const ref = { split: 'train', count, features: `features/train-${s}.f32`, labels: `labels/train-${s}.u8` };
    store.objects.set(ref.features, new Uint8Array(x.buffer));
    store.objects.set(ref.labels, y);
    shards.push(ref);
  });
  return { store, shards, count: row };
}

async function rowIds(rows: ReturnType<typeof streamedFeatureRows>, dim: number): Promise<number[]> {
  const ids: number[] = [];
  await rows.forEachChunk(async (x, _y, n) => {
    for (let r = 0; r < n; r++) ids.push(x[r * dim]);
  });
  return ids;
}

const sorted = (a: ArrayLike<number>) => Array.from(a).sort((p, q) => p - q);

test('each part yields exactly the rows trainValidationSplit put in it, limit included', async () => {
  const dim = 3;
  const { store, shards, count } = storeShards([50, 7, 120, 1, 80], dim, 3);
  for (const options of [{ seed: 4, validationFraction: 0.2 }, { seed: 9, validationFraction: 0.1, limit: 150 }]) {
    const split = trainValidationSplit(count, options);
    const membership = splitMembership(count, split);
    const train = streamedFeatureRows(store, shards, dim, membership, 'train');
    const validation = streamedFeatureRows(store, shards, dim, membership, 'validation');
    assert.equal(train.count, split.train.length);
    assert.equal(validation.count, split.validation.length);
    assert.deepEqual(await rowIds(train, dim), sorted(split.train));
    assert.deepEqual(await rowIds(validation, dim), sorted(split.validation));
  }
});

test('a pass reads one shard at a time, in order, fetching at most the next one ahead', async () => {
  const dim = 2;
  const { store, shards, count } = storeShards([30, 40, 50, 20], dim, 2);
  const membership = splitMembership(count, trainValidationSplit(count, { seed: 1, validationFraction: 0.25 }));
  const train = streamedFeatureRows(store, shards, dim, membership, 'train');
  const readWhenVisited: number[] = [];
  await train.forEachChunk(async () => {
    readWhenVisited.push(store.reads.length);
  });
  const expected = shards.flatMap((s) => [s.features, s.labels]);
  assert.deepEqual(sorted(store.reads.map((k) => expected.indexOf(k))), expected.map((_, i) => i), 'each object read once');
  assert.deepEqual(store.reads.filter((k) => k.startsWith('features/')), shards.map((s) => s.features), 'in shard order');
  // Visiting shard s, only shards up to s + 1 have been asked for.
  readWhenVisited.forEach((reads, s) => assert.ok(reads <= 2 * Math.min(s + 2, shards.length), `shard ${s}: ${reads} reads`));
});

test('the cache keeps the first shards that fit its budget and re-reads only the rest', async () => {
  const dim = 4;
  const { store, shards, count } = storeShards([100, 100, 100], dim, 2);
  const membership = splitMembership(count, trainValidationSplit(count, { seed: 2, validationFraction: 0.1 }));
  const firstRows = membership.subarray(0, shards[0].count).filter((m) => m === 1).length;
  const oneShard = firstRows * (dim * 4 + 1); // room for the first shard's train rows (features and labels) only
  const cache = new ShardRowCache(oneShard);
  const train = streamedFeatureRows(store, shards, dim, membership, 'train', { cache });
  const first = await rowIds(train, dim);
  assert.equal(store.reads.length, 6);
  assert.equal(cache.bytes, oneShard);
  store.reads.length = 0;
  assert.deepEqual(await rowIds(train, dim), first, 'a cached pass yields the same rows');
  assert.deepEqual(store.reads, shards.slice(1).flatMap((s) => [s.features, s.labels]));

  const all = new ShardRowCache(1 << 20);
  const cachedTrain = streamedFeatureRows(store, shards, dim, membership, 'train', { cache: all });
  await rowIds(cachedTrain, dim);
  store.reads.length = 0;
  await rowIds(cachedTrain, dim);
  assert.deepEqual(store.reads, [], 'everything fits: nothing re-read');
});

test('a shard of the wrong size is refused with its key', async () => {
  const dim = 2;
  const { store, shards, count } = storeShards([10, 10], dim, 2);
  store.objects.set(shards[1].features, new Uint8Array(10 * dim * 4 - 4));
  const membership = splitMembership(count, trainValidationSplit(count, { seed: 1, validationFraction: 0.2 }));
  await assert.rejects(rowIds(streamedFeatureRows(store, shards, dim, membership, 'train'), dim), /feature shard features\/train-1\.f32: 76 bytes, expected 10 rows × 2 float32/);
});

test('the head fitted from streamed shards is the one fitted from the loaded split', async () => {
  await tf.setBackend('cpu');
  const dim = 5;
  const k = 3;
  const { store, shards, count } = storeShards([90, 33, 160, 57], dim, k);
  const options = { seed: 6, validationFraction: 0.2 };
  const split = trainValidationSplit(count, options);
  const loaded = await loadFeatureSplit(store, shards, 'train', dim);
  // Feature 0 is the row index: leave it out of both fits (zero it), it would let the head memorise.
  for (let i = 0; i < count; i++) loaded.x[i * dim] = 0;
  for (const s of shards) {
    const x = new Float32Array(store.objects.get(s.features)!.slice().buffer);
    for (let r = 0; r < s.count; r++) x[r * dim] = 0;
    store.objects.set(s.features, new Uint8Array(x.buffer));
  }
  const inMemory = await fitLogisticRegression({ train: selectRows(loaded, split.train), val: selectRows(loaded, split.validation), dim, numClasses: k }, { seed: 1 });
  const before = tf.memory().numTensors;
  const membership = splitMembership(count, split);
  const cache = new ShardRowCache(100 * dim * 4); // a shard or so: the rest is re-read every pass
  store.reads.length = 0;
  const streamed = await fitLogisticRegression(
    { train: streamedFeatureRows(store, shards, dim, membership, 'train', { cache }), val: streamedFeatureRows(store, shards, dim, membership, 'validation', { cache }), dim, numClasses: k },
    { seed: 1 },
  );
  assert.equal(tf.memory().numTensors, before);
  assert.ok(store.reads.length > 10 * shards.length, `${store.reads.length} reads: the shards were streamed, pass after pass`);
  assert.equal(streamed.l2, inMemory.l2);
  const diff = Math.max(...Array.from(streamed.weights, (w, i) => Math.abs(w - inMemory.weights[i])));
  assert.ok(diff < 1e-4, `weights differ by ${diff}`);
  assert.equal(streamed.valAccuracy, inMemory.valAccuracy);
});
