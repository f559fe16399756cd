// The sharded split reader against an in-memory store: rows map to the right shard and row,
// shards are read on demand and at most once while cached, and the cache keeps to its budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardRef } from '../../contracts';
import { ShardedSplit, type ShardStore } from '../../lib/data/shard-reader';
import { ByteBudgetCache } from '../../lib/data/shard-cache';
import { TrainingStream } from '../../lib/data/training-stream';

const shape: [number, number, number] = [2, 2, 1];
const pixels = 4;

/** A split whose image bytes say which row they are (row % 251) and whose labels are row % 10. */
function fakeSplit(counts: number[]) {
  const objects = new Map<string, Uint8Array>();
  const reads: string[] = [];
  let row = 0;
  const shards: ShardRef[] = counts.map((count, i) => {
    const images = new Uint8Array(count * pixels);
    const labels = new Uint8Array(count);
    for (let r = 0; r < count; r++, row++) {
      images.fill(row % 251, r * pixels, (r + 1) * pixels);
      labels[r] = row % 10;
    }
    objects.set(`img-${i}`, images).set(`lab-${i}`, labels);
    return { count, images: { key: `img-${i}`, sha256: '', size: images.length }, labels: { key: `lab-${i}`, sha256: '', size: labels.length } };
  });
  const store: ShardStore = {
    getBytes: async (key: string) => {
      reads.push(key);
      await new Promise((r) => setImmediate(r));
      return objects.get(key)!;
    },
  };
  return { store, shards, reads, imageReads: () => reads.filter((k) => k.startsWith('img-')) };
}

test('gather returns the asked rows, in the order asked, across shards', async () => {
  const { store, shards } = fakeSplit([5, 0, 7, 3]);
  const split = new ShardedSplit(store, shape, shards, 1 << 20);
  assert.equal(split.count, 15);
  assert.deepEqual([0, 4, 5, 11, 12, 14].map((r) => split.shardOf(r)), [0, 0, 2, 2, 3, 3]);
  const rows = [14, 0, 6, 5, 12];
  const { images, labels } = await split.gather(rows);
  assert.deepEqual(Array.from(labels), rows.map((r) => r % 10));
  assert.deepEqual(Array.from(images.filter((_, i) => i % pixels === 0)), rows);
  assert.throws(() => split.shardOf(15), RangeError);
});

test('a cached shard is read once; the budget evicts the least recently used', async () => {
  const { store, shards, imageReads } = fakeSplit([10, 10, 10, 10]);
  const shardBytes = 10 * (pixels + 1);
  const split = new ShardedSplit(store, shape, shards, 2 * shardBytes);
  await split.gather([0, 1, 12]); // shards 0, 1
  await split.gather([3, 15]); // cached
  assert.deepEqual(imageReads(), ['img-0', 'img-1']);
  await split.gather([25]); // shard 2 evicts shard 0, the least recently used
  assert.ok(split.cachedBytes <= 2 * shardBytes);
  await split.gather([11]);
  assert.deepEqual(imageReads(), ['img-0', 'img-1', 'img-2']);
  await split.gather([1]);
  assert.deepEqual(imageReads(), ['img-0', 'img-1', 'img-2', 'img-0']);
});

test('a batch that needs more than the budget still gets every row', async () => {
  const { store, shards } = fakeSplit([4, 4, 4]);
  const split = new ShardedSplit(store, shape, shards, 1);
  const { labels } = await split.gather([1, 5, 9]);
  assert.deepEqual(Array.from(labels), [1, 5, 9]);
});

test('read-ahead loads the next shards but never evicts the ones kept', async () => {
  const cache = new ByteBudgetCache<number, string>(3);
  await cache.get(1, 1, async () => 'a');
  await cache.get(2, 1, async () => 'b');
  assert.equal(cache.prefetch(3, 1, async () => 'c', new Set([1, 2])), true);
  assert.equal(cache.prefetch(4, 1, async () => 'd', new Set([1, 2, 3])), false, 'no room without evicting a kept entry');
  assert.deepEqual([1, 2, 3, 4].map((k) => cache.has(k)), [true, true, true, false]);
  // A failed load is dropped, so the next ask loads again.
  await assert.rejects(cache.get(5, 1, async () => Promise.reject(new Error('boom'))));
  assert.equal(cache.has(5), false);
  assert.equal(await cache.get(5, 1, async () => 'e'), 'e');
});

test('a training stream reads each window once and the next window ahead', async () => {
  const { store, shards, imageReads } = fakeSplit(new Array<number>(12).fill(16));
  const shardBytes = 16 * (pixels + 1);
  const split = new ShardedSplit(store, shape, shards, 8 * shardBytes);
  const train = Uint32Array.from({ length: split.count }, (_, i) => i);
  const stream = new TrainingStream(split, train, 8, 2 * shardBytes);
  const rows = stream.epochRows(1, 1);
  for (let b = 0; b * 8 < rows.length; b++) {
    const idx = rows.subarray(b * 8, (b + 1) * 8);
    const { labels } = await stream.gather(idx, b);
    assert.deepEqual(Array.from(labels), Array.from(idx, (r) => r % 10));
  }
  // Two-shard windows, four of them in the cache: each shard is read once, none twice.
  assert.equal(imageReads().length, 12);
  assert.equal(new Set(imageReads()).size, 12);
});
