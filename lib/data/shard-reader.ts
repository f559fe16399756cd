// A split read from the store shard by shard, on demand, instead of all at once: a global row
// index maps to (shard, row), and shards stay in memory only within the cache's byte budget.
// What grows with the split is only per-row bookkeeping; images are bounded by the budget.
import type { ShardRef } from '../../contracts';
import pLimit from 'p-limit';
import type { ArtifactStore } from '../store/store';
import { type DatasetManifest, type SplitRows, SHARD_READS_IN_FLIGHT } from './dataset';
import { ByteBudgetCache } from './shard-cache';
import { lastStartAtOrBefore } from './streamed-order';

/** What the reader needs of the store: hash-verified bytes by key. */
export type ShardStore = Pick<ArtifactStore, 'getBytes'>;

interface LoadedShard {
  images: Uint8Array;
  labels: Uint8Array;
}

/** Shards to read ahead while gathering, and the ones that read-ahead must not evict. */
export interface ReadAhead {
  shards: readonly number[];
  keep: readonly number[];
}

export class ShardedSplit implements SplitRows {
  readonly count: number;
  readonly pixels: number;
  /** First global row of each shard, then the split's count: shard i holds rows starts[i]..starts[i+1]-1. */
  readonly starts: Uint32Array;
  private readonly cache: ByteBudgetCache<number, LoadedShard>;
  private readonly limit = pLimit(SHARD_READS_IN_FLIGHT);

  constructor(
    private readonly store: ShardStore,
    readonly imageShape: [number, number, number],
    readonly shards: readonly ShardRef[],
    cacheBytes: number,
  ) {
    this.pixels = imageShape[0] * imageShape[1] * imageShape[2];
    this.starts = new Uint32Array(shards.length + 1);
    shards.forEach((shard, i) => (this.starts[i + 1] = this.starts[i] + shard.count));
    this.count = this.starts[shards.length];
    this.cache = new ByteBudgetCache(cacheBytes);
  }

  /** Bytes a shard takes in memory (images and labels). */
  shardBytes(shard: number): number {
    return this.shards[shard].count * (this.pixels + 1);
  }

  /** Bytes of shards held in memory now. */
  get cachedBytes(): number {
    return this.cache.heldBytes;
  }

  /** The shard that holds a global row (a binary search over the shards' first rows). */
  shardOf(row: number): number {
    if (!(row >= 0 && row < this.count)) throw new RangeError(`row ${row} is outside the split's ${this.count} rows`);
    return lastStartAtOrBefore(this.shards.length, (i) => this.starts[i], row);
  }

  /** The rows' images and labels in the order asked; `readAhead` starts loading later shards meanwhile. */
  async gather(rows: ArrayLike<number>, readAhead?: ReadAhead): Promise<{ images: Uint8Array; labels: Uint8Array }> {
    const shardOfRow = new Uint32Array(rows.length);
    const needed = new Set<number>();
    for (let b = 0; b < rows.length; b++) needed.add((shardOfRow[b] = this.shardOf(rows[b])));
    // Asked for before the read-ahead, so the read-ahead can never evict them.
    const pending = [...needed].map((s) => this.cache.get(s, this.shardBytes(s), () => this.load(s), needed).then((data) => [s, data] as const));
    if (readAhead) this.prefetch(readAhead.shards, [...needed, ...readAhead.keep]);
    const loaded = new Map(await Promise.all(pending));
    const images = new Uint8Array(rows.length * this.pixels);
    const labels = new Uint8Array(rows.length);
    for (let b = 0; b < rows.length; b++) {
      const shard = loaded.get(shardOfRow[b])!;
      const r = rows[b] - this.starts[shardOfRow[b]];
      images.set(shard.images.subarray(r * this.pixels, (r + 1) * this.pixels), b * this.pixels);
      labels[b] = shard.labels[r];
    }
    return { images, labels };
  }

  /** Starts loading shards that will be needed soon, as far as the budget allows without evicting `keep`. */
  prefetch(shards: readonly number[], keep: readonly number[] = []): void {
    const kept = new Set(keep);
    for (const s of shards) {
      if (!this.cache.prefetch(s, this.shardBytes(s), () => this.load(s), kept)) break;
      kept.add(s);
    }
  }

  /** Drops every cached shard (a reader kept past its use holds no images). */
  release(): void {
    this.cache.clear();
  }

  private load(i: number): Promise<LoadedShard> {
    const shard = this.shards[i];
    return this.limit(async () => {
      const [images, labels] = await Promise.all([this.store.getBytes(shard.images.key), this.store.getBytes(shard.labels.key)]);
      if (images.length !== shard.count * this.pixels || labels.length !== shard.count) {
        throw new Error(`shard ${shard.images.key}: expected ${shard.count} images, found ${images.length / this.pixels} images and ${labels.length} labels`);
      }
      return { images, labels };
    });
  }
}

/** A reader over one split of a stored dataset. */
export function openSplit(store: ShardStore, manifest: DatasetManifest, split: string, cacheBytes: number): ShardedSplit {
  const entry = manifest.splits[split];
  if (!entry) throw new Error(`dataset ${manifest.name} has no split ${JSON.stringify(split)} (has ${Object.keys(manifest.splits).join(', ')})`);
  return new ShardedSplit(store, manifest.imageShape, entry.shards, cacheBytes);
}

/** A one-pass reader (scoring a split) re-reads nothing, so it needs no more cache than its read-ahead. */
export const SINGLE_PASS_CACHE_BYTES = 256 * 1024 ** 2;

/** A reader for scoring a split once: the worker's cache budget, capped at what one pass uses. */
export function openSplitForScoring(store: ShardStore, manifest: DatasetManifest, split: string, cacheBytes: number): ShardedSplit {
  return openSplit(store, manifest, split, Math.min(cacheBytes, SINGLE_PASS_CACHE_BYTES));
}
