// The per-shard (and per-page) steps of a transfer run, as workflows over a range of shards: the parent runs
// one inline when the dataset is small, or as child workflows per partition (./fan-out.ts).
// Each returns a fixed-size summary; the shards' own results stay in S3.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type BackboneInfo, type FeatureSummary, type HashSummary, type IngestSummary, type SplitShards, EMPTY_FEATURE_SUMMARY, EMPTY_HASH_SUMMARY, EMPTY_INGEST_SUMMARY, addFeatures, addHashed, addIngest, nthShard } from '../contracts';
import { slidingWindow, type ShardRange } from './fan-out';
import { FAULT_RETRY } from './retry';

const cpu = proxyActivities<Activities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '2 minutes', retry: FAULT_RETRY });

/** Hashes and uploads the files of a folder listing's pages [from, to). `onShard` (inline only) hears each page finish. */
export async function hashPages(input: ShardRange & { listingKey: string }, onShard?: () => void): Promise<HashSummary> {
  return slidingWindow(
    input,
    async (page) => {
      const hashed = await cpu.hashImagePage({ listingKey: input.listingKey, page });
      onShard?.();
      return hashed;
    },
    addHashed,
    EMPTY_HASH_SUMMARY,
  );
}

/** Decodes and stores the plan's shards [from, to). `onShard` (inline only) hears each one finish. */
export async function ingestShards(input: ShardRange & { planKey: string }, onShard?: () => void): Promise<IngestSummary> {
  return slidingWindow(
    input,
    async (shardIndex) => {
      const summary = await cpu.ingestImageShard({ planKey: input.planKey, shardIndex });
      onShard?.();
      return summary;
    },
    addIngest,
    EMPTY_INGEST_SUMMARY,
  );
}

/** Extracts backbone features of the dataset's shards [from, to), counted split after split. */
export async function extractShards(input: ShardRange & { manifestKey: string; backbone: BackboneInfo; splits: SplitShards[] }, onShard?: () => void): Promise<FeatureSummary> {
  return slidingWindow(
    input,
    async (n) => {
      const { split, shardIndex } = nthShard(input.splits, n);
      const shard = await cpu.extractFeatures({ manifestKey: input.manifestKey, split, shardIndex, backbone: input.backbone });
      onShard?.();
      return shard;
    },
    addFeatures,
    EMPTY_FEATURE_SUMMARY,
  );
}
