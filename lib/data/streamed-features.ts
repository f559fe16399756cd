// One part of train (the part the head is fitted on, or the held-back part) read from the
// store shard by shard, for splits whose features do not fit in memory. Which part a row is
// in is exactly what trainValidationSplit drew: one byte per row is all that is kept of it.
import type { ArtifactStore } from '../store/store';
import type { FeatureShardRef } from './features';
import type { FeatureRows } from './feature-rows';

export type TrainPart = 'train' | 'validation';

const PART_CODE: Record<TrainPart, number> = { train: 1, validation: 2 };

/** Per row of the split: 1 fitted on, 2 held back, 0 neither (left out by a limit). */
export function splitMembership(count: number, split: { train: ArrayLike<number>; validation: ArrayLike<number> }): Uint8Array {
  const membership = new Uint8Array(count);
  for (let i = 0; i < split.train.length; i++) membership[split.train[i]] = PART_CODE.train;
  for (let i = 0; i < split.validation.length; i++) membership[split.validation[i]] = PART_CODE.validation;
  return membership;
}

interface ShardRows {
  x: Float32Array;
  y: Uint8Array;
}

/**
 * Decoded rows kept between passes, up to a byte budget. A pass reads shards in the same
 * order every time, so least-recently-used eviction would drop each shard just before it is
 * wanted again; instead the first shards that fit stay for good and the rest are re-read.
 */
export class ShardRowCache {
  private readonly entries = new Map<string, ShardRows>();
  private used = 0;

  constructor(readonly budgetBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get(key: string): ShardRows | undefined {
    return this.entries.get(key);
  }

  offer(key: string, rows: ShardRows): void {
    const size = rows.x.byteLength + rows.y.byteLength;
    if (this.entries.has(key) || this.used + size > this.budgetBytes) return;
    this.entries.set(key, rows);
    this.used += size;
  }
}

export interface StreamedRowsOptions {
  /** Shared by the train and validation parts' sources, so both count against one budget. */
  cache?: ShardRowCache;
}

/**
 * The rows of `part` in shard order, one chunk per shard that has any; the next shard is
 * fetched while the current chunk is being used. membership is splitMembership() over all
 * the shards' rows, in shard order.
 */
export function streamedFeatureRows(
  store: Pick<ArtifactStore, 'getBytes'>,
  shards: FeatureShardRef[],
  dim: number,
  membership: Uint8Array,
  part: TrainPart,
  opts: StreamedRowsOptions = {},
): FeatureRows {
  const code = PART_CODE[part];
  const total = shards.reduce((n, s) => n + s.count, 0);
  if (membership.length !== total) throw new Error(`streamed features: membership covers ${membership.length} rows, the shards hold ${total}`);
  const mine: { shard: FeatureShardRef; offset: number; rows: number }[] = [];
  let offset = 0;
  for (const shard of shards) {
    let rows = 0;
    for (let r = 0; r < shard.count; r++) if (membership[offset + r] === code) rows++;
    if (rows > 0) mine.push({ shard, offset, rows });
    offset += shard.count;
  }

  const load = async ({ shard, offset, rows }: (typeof mine)[number]): Promise<ShardRows> => {
    const cacheKey = `${part}:${shard.features}`;
    const cached = opts.cache?.get(cacheKey);
    if (cached) return cached;
    const [features, labels] = await Promise.all([store.getBytes(shard.features), store.getBytes(shard.labels)]);
    if (features.byteLength !== shard.count * dim * 4) throw new Error(`feature shard ${shard.features}: ${features.byteLength} bytes, expected ${shard.count} rows × ${dim} float32`);
    if (labels.length !== shard.count) throw new Error(`label shard ${shard.labels}: ${labels.length} labels, expected ${shard.count}`);
    const all = features.byteOffset % 4 === 0 ? new Float32Array(features.buffer, features.byteOffset, shard.count * dim) : new Float32Array(features.slice().buffer);
    const picked: ShardRows = { x: new Float32Array(rows * dim), y: new Uint8Array(rows) };
    let i = 0;
    for (let r = 0; r < shard.count; r++) {
      if (membership[offset + r] !== code) continue;
      picked.x.set(all.subarray(r * dim, (r + 1) * dim), i * dim);
      picked.y[i++] = labels[r];
    }
    opts.cache?.offer(cacheKey, picked);
    return picked;
  };

  return {
    count: mine.reduce((n, m) => n + m.rows, 0),
    async forEachChunk(visit) {
      let next = mine.length > 0 ? load(mine[0]) : undefined;
      for (let s = 0; s < mine.length; s++) {
        const chunk = await next!;
        next = s + 1 < mine.length ? load(mine[s + 1]) : undefined;
        // Handled here too, so a visit that throws does not leave the prefetch's rejection unhandled.
        next?.catch(() => undefined);
        await visit(chunk.x, chunk.y, mine[s].rows);
      }
    },
  };
}
