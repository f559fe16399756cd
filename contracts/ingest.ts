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

export type FinalizeResult = IngestResult & { quality: { rejected: number; duplicates: number; crossSplit: number } };
