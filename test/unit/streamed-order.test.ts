// The streamed training order: deterministic per (seed, epoch), a permutation of the train
// rows, different each epoch, and every batch inside one window of a few shards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainValidationSplit } from '../../lib/data/dataset';
import { StreamedOrder, windowAt, windowShardsFor } from '../../lib/data/streamed-order';

/** 23 shards of 100 rows and a short last one: 2,340 rows. */
const shardCounts = [...new Array<number>(23).fill(100), 40];
const starts = Uint32Array.from([0, ...shardCounts.map((_, i) => shardCounts.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
const count = starts[starts.length - 1];
const shardOf = (row: number) => starts.findIndex((s, i) => row >= s && row < starts[i + 1]);
const { train } = trainValidationSplit(count, { seed: 4, validationFraction: 0.2 });
const batchSize = 32;
const windowShards = 4;
const order = new StreamedOrder(starts, train, batchSize, windowShards);

test('the same (seed, epoch) gives the same order; another epoch or seed another one', () => {
  const a = order.plan(7, 3);
  assert.deepEqual(a, order.plan(7, 3));
  assert.deepEqual(a, new StreamedOrder(starts, train, batchSize, windowShards).plan(7, 3), 'a fresh instance (a resumed attempt) agrees');
  assert.notDeepEqual(order.plan(7, 4).rows, a.rows);
  assert.notDeepEqual(order.plan(8, 3).rows, a.rows);
  // Only the set of rows matters, not the order they were given in.
  assert.deepEqual(new StreamedOrder(starts, train.slice().reverse(), batchSize, windowShards).plan(7, 3), a);
});

test('each epoch is a permutation of the train rows, and none of the held-back ones', () => {
  for (const epoch of [1, 2, 3]) {
    const { rows } = order.plan(11, epoch);
    assert.equal(rows.length, train.length);
    assert.deepEqual(rows.slice().sort(), train.slice().sort());
  }
});

test('every batch lies in one window, and a window touches at most windowShards shards', () => {
  for (const epoch of [1, 2, 5]) {
    const { rows, windows } = order.plan(2, epoch);
    assert.ok(windows.length > 3, `${windows.length} windows`);
    assert.equal(windows[0].start, 0);
    assert.equal(windows.at(-1)!.end, rows.length);
    for (const [i, w] of windows.entries()) {
      if (i > 0) assert.equal(w.start, windows[i - 1].end, 'windows tile the epoch');
      if (w.end !== rows.length) assert.equal(w.end % batchSize, 0, 'windows end on batch boundaries');
      assert.ok(w.shards.length <= windowShards, `window ${i} spans ${w.shards.length} shards`);
      const touched = new Set(Array.from(rows.subarray(w.start, w.end), shardOf));
      assert.deepEqual([...touched].sort((a, b) => a - b), [...w.shards].sort((a, b) => a - b), `window ${i} reads just its shards`);
    }
    for (let start = 0; start < rows.length; start += batchSize) {
      const w = windows[windowAt(windows, start)];
      const batch = rows.subarray(start, Math.min(start + batchSize, rows.length));
      for (const row of batch) assert.ok(w.shards.includes(shardOf(row)), `batch at ${start} reads shard ${shardOf(row)}, outside its window`);
    }
  }
});

test('shards are visited in a different order each epoch, and rows mix across the shards of a window', () => {
  const firstShards = (epoch: number) => order.plan(5, epoch).windows.map((w) => w.shards[0]).join(',');
  assert.notEqual(firstShards(1), firstShards(2));
  const { rows, windows } = order.plan(5, 1);
  const firstBatch = new Set(Array.from(rows.subarray(0, batchSize), shardOf));
  assert.ok(firstBatch.size > 1, 'a batch draws on more than one shard');
  assert.ok(firstBatch.size <= windows[0].shards.length);
});

test('a split that fits in one window is shuffled whole, like an in-memory one', () => {
  const whole = new StreamedOrder(starts, train, batchSize, 1000).plan(3, 1);
  assert.equal(whole.windows.length, 1);
  assert.equal(whole.windows[0].shards.length, shardCounts.length);
});

test('window size follows the shard size, never below two shards', () => {
  assert.equal(windowShardsFor(128 * 224 * 224 * 3), 27);
  assert.equal(windowShardsFor(10_000 * 785), 68);
  assert.equal(windowShardsFor(2 ** 40), 2);
});
