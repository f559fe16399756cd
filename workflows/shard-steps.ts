// The per-shard (and per-page) steps of a transfer run, as workflows over a range of shards: the parent runs
// one inline when the dataset is small, or as child workflows per partition (./fan-out.ts).
// Each returns a fixed-size summary; the shards' own results stay in S3.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type BackboneInfo, type FeatureSummary, type HashSummary, type IngestSummary, type SplitShards, EMPTY_FEATURE_SUMMARY, EMPTY_HASH_SUMMARY, EMPTY_INGEST_SUMMARY, addFeatures, addHashed, addIngest, nthShard } from '../contracts';
import { slidingWindow, type ShardRange } from './fan-out';
import { CPU_STEP } from './retry';

const cpu = proxyActivities<Activities>(CPU_STEP);

/** Hashes and uploads the files of a folder listing's pages [from, to). `onShard` (inline only) hears each page finish. */
export async function hashPages(input: ShardRange & { listingKey: string }, onShard?: () => void): Promise<HashSummary> {
  return slidingWindow(input, (page) => cpu.hashImagePage({ listingKey: input.listingKey, page }), addHashed, EMPTY_HASH_SUMMARY, onShard);
}

/** Decodes and stores the plan's shards [from, to). `onShard` (inline only) hears each one finish. */
export async function ingestShards(input: ShardRange & { planKey: string }, onShard?: () => void): Promise<IngestSummary> {
  return slidingWindow(input, (shardIndex) => cpu.ingestImageShard({ planKey: input.planKey, shardIndex }), addIngest, EMPTY_INGEST_SUMMARY, onShard);
}

/** Extracts backbone features of the dataset's shards [from, to), counted split after split. */
export async function extractShards(input: ShardRange & { manifestKey: string; backbone: BackboneInfo; splits: SplitShards[] }, onShard?: () => void): Promise<FeatureSummary> {
  const extract = (n: number) => cpu.extractFeatures({ manifestKey: input.manifestKey, ...nthShard(input.splits, n), backbone: input.backbone });
  return slidingWindow(input, extract, addFeatures, EMPTY_FEATURE_SUMMARY, onShard);
}
