// The image-ingestion steps' inputs and results, and the stored objects and shards they name.
import type { IngestResult } from './lab-cnn';

/** An object in the artifact store: its key, and the SHA-256 and size recorded with it. */
export interface StoredObject {
  key: string;
  sha256: string;
  size: number;
}

/** The splits a dataset can have. */
export type Split = 'train' | 'val' | 'test';

/** One stored shard of a split: images and labels as uint8 objects. */
export interface ShardRef {
  count: number;
  images: StoredObject; // count × H × W × C uint8, row-major
  labels: StoredObject; // count uint8
  /** Source path of each image, in shard order (image-folder datasets). */
  paths?: string[];
}

export interface ImageIngestOptions {
  /** Local directory, s3://<bucket>/<prefix>, or a .zip / .tar.gz / .tgz file. */
  data: string;
  /** [height, width] of every stored image. */
  imageSize: [number, number];
  colorMode: 'rgb' | 'grayscale';
  resize: 'cover' | 'contain' | 'fill';
  seed: number;
  /** Share of each class held out for validation when the folder has no split folders. */
  validationFraction: number;
  /** Images per shard: the unit of parallel decoding. */
  shardSize: number;
  /** Images with more pixels are rejected unread (decompression bombs). */
  maxPixels: number;
}

export interface PlanResult {
  cached: boolean;
  cacheReason: string;
  manifestKey?: string;
  planKey: string;
  shards: number;
  files: number;
  /** The dataset's identity: SHA-256 of its files, labels, splits, classes and preprocessing. */
  datasetKey: string;
  /** How long this activity ran, for the report's timings. */
  seconds?: number;
}

export interface ShardResult {
  shardIndex: number;
  split: Split;
  shard: ShardRef;
  rejected: { path: string; reason: string }[];
  seconds?: number;
}

/** What listing a folder returns: a key and counts (no listingKey: not a local folder, so the plan step scans it itself). */
export interface ListingResult {
  listingKey?: string;
  pages: number;
  files: number;
  seconds: number;
}

/** What hashing one page of a listing returns. */
export interface HashedPage {
  page: number;
  files: number;
  bytes: number;
  seconds: number;
}

/** Hashed pages added up. */
export interface HashSummary {
  pages: number;
  files: number;
  bytes: number;
  seconds: number;
}

export const EMPTY_HASH_SUMMARY: HashSummary = { pages: 0, files: 0, bytes: 0, seconds: 0 };

export function addHashed(summary: HashSummary, more: HashedPage | HashSummary): HashSummary {
  const pages = 'pages' in more ? more.pages : 1;
  return { pages: summary.pages + pages, files: summary.files + more.files, bytes: summary.bytes + more.bytes, seconds: summary.seconds + more.seconds };
}

/**
 * What a shard step returns through workflow history: counts only. Its whole result (paths,
 * rejected files) is stored under `shardResultKey(planKey, shardIndex)` for finalize to read.
 */
export interface ShardSummary {
  shardIndex: number;
  split: Split;
  count: number;
  rejected: number;
  seconds: number;
}

/** Shard steps added up: the same size for ten shards or ten thousand. */
export interface IngestSummary {
  shards: number;
  images: number;
  rejected: number;
  seconds: number;
}

export const EMPTY_INGEST_SUMMARY: IngestSummary = { shards: 0, images: 0, rejected: 0, seconds: 0 };

export function addIngest(summary: IngestSummary, more: ShardSummary | IngestSummary): IngestSummary {
  const shards = 'shards' in more ? more.shards : 1;
  const images = 'images' in more ? more.images : more.count;
  return { shards: summary.shards + shards, images: summary.images + images, rejected: summary.rejected + more.rejected, seconds: summary.seconds + more.seconds };
}

export type FinalizeResult = IngestResult & { quality: { rejected: number; duplicates: number; crossSplit: number } };
