// What a trainer reads its batches through: the train split as a ShardedSplit, cut into train
// and validation rows, and batches drawn in the streamed order (lib/data/streamed-order.ts)
// with the next window's shards read ahead while the current one trains.
import type { ArtifactStore } from '../store/store';
import { loadManifest, trainValidationSplit } from './dataset';
import { openSplit, type ShardedSplit } from './shard-reader';
import { type EpochPlan, SHUFFLE_WINDOW_BYTES, StreamedOrder, windowAt, windowShardsFor } from './streamed-order';

export class TrainingStream {
  private readonly order: StreamedOrder;
  /** The plan of the epoch being trained: runEpochs asks for an epoch's order before its batches. */
  private current: EpochPlan | undefined;

  constructor(
    readonly reader: ShardedSplit,
    trainRows: Uint32Array,
    readonly batchSize: number,
    windowBytes = SHUFFLE_WINDOW_BYTES,
  ) {
    const largestShard = reader.shards.reduce((most, _, i) => Math.max(most, reader.shardBytes(i)), 0);
    this.order = new StreamedOrder(reader.starts, trainRows, batchSize, windowShardsFor(largestShard, windowBytes));
  }

  /** The epoch's rows in training order (a pure function of seed and epoch); starts reading its first window. */
  epochRows(seed: number, epoch: number): Uint32Array {
    this.current = this.order.plan(seed, epoch);
    if (this.current.windows.length > 0) this.reader.prefetch(this.current.windows[0].shards);
    return this.current.rows;
  }

  /** Batch `batch` (0-based) of the current epoch: its rows read, the next window's shards read ahead. */
  gather(rows: Uint32Array, batch: number): Promise<{ images: Uint8Array; labels: Uint8Array }> {
    const windows = this.current?.windows ?? [];
    if (windows.length === 0) return this.reader.gather(rows);
    const w = windowAt(windows, batch * this.batchSize);
    return this.reader.gather(rows, { shards: windows[w + 1]?.shards ?? [], keep: windows[w].shards });
  }
}

/** What a trainer starts from: the manifest, a reader over its train split, and that split cut into train and validation rows. */
export async function openTrainingData(
  store: ArtifactStore,
  manifestKey: string,
  opts: { seed: number; validationFraction: number; limit?: number; cacheBytes: number },
) {
  const manifest = await loadManifest(store, manifestKey);
  const reader = openSplit(store, manifest, 'train', opts.cacheBytes);
  return { manifest, numClasses: manifest.classNames.length, reader, split: trainValidationSplit(reader.count, opts) };
}
