// The order a streamed split is trained in. Each epoch visits the shards in a seeded order and
// shuffles rows only within a window of a few consecutive shards, so a batch never needs a shard
// outside its window and the reader's cache holds the window (and the next, read ahead) instead
// of the split. Window boundaries fall on batch boundaries, so the number of batches is the
// same as for a plain shuffle. Everything here is a pure function of (seed, epoch) and the
// dataset's layout — never of the cache budget — so a resumed epoch sees the same batches.
import { seededPermutation, seededRandom } from './dataset';

/** Shard bytes a shuffle window spans: a few hundred megabytes, two of which fit the default cache. */
export const SHUFFLE_WINDOW_BYTES = 512 * 1024 * 1024;

/** Rows order[start..end-1] are shuffled together; they come from `shards` only. */
export interface ShuffleWindow {
  start: number;
  end: number;
  shards: number[];
}

export interface EpochPlan {
  /** Global row indices in training order. */
  rows: Uint32Array;
  windows: ShuffleWindow[];
}

/**
 * Shards per window for a split whose largest shard takes `shardBytes`. At least two: a window
 * ends on a batch boundary, so it usually shares a shard with the window before it.
 */
export function windowShardsFor(shardBytes: number, windowBytes = SHUFFLE_WINDOW_BYTES): number {
  return Math.max(2, Math.floor(windowBytes / Math.max(1, shardBytes)));
}

/** Mixes numbers into one 32-bit seed (murmur3's finaliser per part): nearby inputs give unrelated seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

function shuffleInPlace(values: Uint32Array, seed: number): void {
  const random = seededRandom(seed);
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
}

export class StreamedOrder {
  /** The training rows grouped by shard (ascending within each), and where each shard's group starts. */
  private readonly grouped: Uint32Array;
  private readonly groupStarts: Uint32Array;

  /**
   * @param starts first global row of each shard, then the split's count (ShardedSplit.starts)
   * @param rows the rows to train on: any subset of the split, in any order
   */
  constructor(
    starts: ArrayLike<number>,
    rows: ArrayLike<number>,
    readonly batchSize: number,
    readonly windowShards: number,
  ) {
    const shardCount = starts.length - 1;
    // Counting sort by shard, then each group sorted: the grouping depends on the set of rows only.
    const shardOf = Uint32Array.from(rows, (row) => lastStartAtOrBefore(shardCount, (i) => starts[i], row));
    this.groupStarts = new Uint32Array(shardCount + 1);
    for (const s of shardOf) this.groupStarts[s + 1]++;
    for (let s = 0; s < shardCount; s++) this.groupStarts[s + 1] += this.groupStarts[s];
    const next = this.groupStarts.slice(0, shardCount);
    this.grouped = new Uint32Array(rows.length);
    for (let i = 0; i < rows.length; i++) this.grouped[next[shardOf[i]]++] = rows[i];
    for (let s = 0; s < shardCount; s++) this.grouped.subarray(this.groupStarts[s], this.groupStarts[s + 1]).sort();
  }

  get length(): number {
    return this.grouped.length;
  }

  /** The epoch's training order and its windows. */
  plan(seed: number, epoch: number): EpochPlan {
    const n = this.grouped.length;
    const shardCount = this.groupStarts.length - 1;
    const rows = new Uint32Array(n);
    const windows: ShuffleWindow[] = [];
    let filled = 0;
    let windowStart = 0;
    let shards: number[] = [];
    for (const s of seededPermutation(shardCount, mixSeed(seed, epoch, 0))) {
      const group = this.grouped.subarray(this.groupStarts[s], this.groupStarts[s + 1]);
      if (group.length === 0) continue;
      rows.set(group, filled);
      // Shuffled first on its own too: a shard cut by a window boundary gives each side a random part.
      shuffleInPlace(rows.subarray(filled, filled + group.length), mixSeed(seed, epoch, 1, s));
      filled += group.length;
      shards.push(s);
      if (shards.length < this.windowShards) continue;
      const end = Math.floor(filled / this.batchSize) * this.batchSize;
      if (end <= windowStart) continue; // not a whole batch yet: the window takes another shard
      windows.push({ start: windowStart, end, shards });
      windowStart = end;
      // The rest of this shard's rows open the next window.
      shards = filled > end ? [s] : [];
    }
    if (windowStart < n) windows.push({ start: windowStart, end: n, shards });
    windows.forEach((w, i) => shuffleInPlace(rows.subarray(w.start, w.end), mixSeed(seed, epoch, 2, i)));
    return { rows, windows };
  }
}

/** The window that holds position `position` of an epoch's order. */
export function windowAt(windows: readonly ShuffleWindow[], position: number): number {
  return lastStartAtOrBefore(windows.length, (i) => windows[i].start, position);
}

/**
 * The last of `count` ranges, given by ascending starts, that starts at or before `value`: the
 * range that holds it. Empty ranges (equal starts) before it are skipped that way.
 */
export function lastStartAtOrBefore(count: number, startOf: (i: number) => number, value: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (startOf(mid) <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
