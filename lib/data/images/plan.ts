// The image-ingestion plan: what the plan step stores for the shard and finalize steps, its
// schema, keys and checks. Pure code: the activities (activities/ingest-images.ts) do the I/O.
import * as path from 'node:path';
import { z } from 'zod';
import type { ImageIngestOptions, ShardResult, Split } from '../../../contracts';
import { BadInputError } from '../../errors';
import { sha256Hex, storedObjectSchema } from '../../store/store';
import { DATASET_FORMAT, seededPermutation } from '../dataset';
import { DECODER_VERSION, channelsOf } from './decode';
import { SPLITS, byCodePoint, type ImageFolderScan, type ScannedFile } from './scan';

export class ImageIngestError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'ImageIngestError';
  }
}

/** An unreadable file or folder stays unreadable on retry: the error that names it and stops the run, or the error itself. */
export function asUnreadableError(data: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EACCES' || err.code === 'EPERM') return new ImageIngestError(`image folder ${data}: cannot read ${err.path ?? 'a file'} (permission denied)`);
  return err;
}

export const PREFIX = 'datasets/images';
export const RAW_PREFIX = 'datasets/raw';
export const PLAN_FORMAT = 'tl.image-plan/v1';
/** Raw files are read whole into memory to upload and to decode; bigger ones are set aside. */
export const MAX_FILE_BYTES = 256 * 1024 ** 2;
/** One shard's images are one S3 object held in memory. */
export const MAX_SHARD_BYTES = 1024 ** 3;

/** Everything a shard or finalize step needs, stored content-addressed so steps on other machines can read it. */
export interface ImagePlan {
  format: typeof PLAN_FORMAT;
  datasetKey: string;
  options: ImageIngestOptions;
  source: { kind: string; location: string };
  layout: ImageFolderScan['layout'];
  classNames: string[];
  /** Files to decode, by path; shards refer to them by index. */
  files: ScannedFile[];
  shards: { split: Split; files: number[] }[];
  skipped: ImageFolderScan['skipped'];
  duplicates: ImageFolderScan['duplicates'];
  crossSplit: ImageFolderScan['crossSplit'];
}

/** The pointer from a dataset identity to its manifest, written after everything it names. */
export interface ContentRef {
  manifestKey: string;
  datasetSha256: string;
  planKey: string;
  shards: number;
}

export const sameContentSchema = z.object({ sha256: z.string(), paths: z.array(z.string()) });
export const splitSchema = z.enum(['train', 'val', 'test']);

export const planSchema: z.ZodType<ImagePlan> = z
  .object({
    format: z.literal(PLAN_FORMAT),
    datasetKey: z.string(),
    options: z.object({
      data: z.string(),
      imageSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
      colorMode: z.enum(['rgb', 'grayscale']),
      resize: z.enum(['cover', 'contain', 'fill']),
      seed: z.number(),
      validationFraction: z.number(),
      shardSize: z.number().int().positive(),
      maxPixels: z.number().positive(),
    }),
    source: z.object({ kind: z.string(), location: z.string() }),
    layout: z.enum(['class/*', 'split/class/*']),
    classNames: z.array(z.string()),
    files: z.array(z.object({ path: z.string(), split: splitSchema, label: z.number().int().nonnegative(), sha256: z.string(), bytes: z.number() })),
    shards: z.array(z.object({ split: splitSchema, files: z.array(z.number().int().nonnegative()) })),
    skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
    duplicates: z.array(sameContentSchema),
    crossSplit: z.array(sameContentSchema),
  })
  .describe(`image ingestion plan (${PLAN_FORMAT})`);

export const shardResultSchema: z.ZodType<ShardResult> = z
  .object({
    shardIndex: z.number().int().nonnegative(),
    split: splitSchema,
    shard: z.object({ count: z.number().int().nonnegative(), images: storedObjectSchema, labels: storedObjectSchema, paths: z.array(z.string()).optional() }),
    rejected: z.array(z.object({ path: z.string(), reason: z.string() })),
    seconds: z.number().optional(),
  })
  .describe('image shard result');

export const contentRefSchema: z.ZodType<ContentRef> = z
  .object({ manifestKey: z.string(), datasetSha256: z.string(), planKey: z.string(), shards: z.number().int().nonnegative() })
  .describe('dataset content pointer');

/** Where a shard step stores its whole result: fixed by the plan and the index, so a retry overwrites it. */
export const shardResultKey = (planKey: string, shardIndex: number) => `${PREFIX}/shard-results/${path.posix.basename(planKey, '.json')}/${shardIndex}.json`;
export const refKeyOf = (datasetKey: string) => `${PREFIX}/by-content/${datasetKey}.json`;
export const rawKeyOf = (sha256: string) => `${RAW_PREFIX}/${sha256}`;

/**
 * Same files (by content), labels, splits, classes and preprocessing → same dataset. Paths, seed
 * and shard size are left out: they change neither which pixels are stored nor their labels.
 */
export function datasetIdentity(files: ScannedFile[], classNames: string[], o: ImageIngestOptions): string {
  const entries = files.map((f) => `${f.sha256} ${f.label} ${f.split}`).sort(byCodePoint);
  const preprocessing = { size: o.imageSize, colorMode: o.colorMode, resize: o.resize, maxPixels: o.maxPixels, decoder: DECODER_VERSION };
  return sha256Hex(JSON.stringify({ format: DATASET_FORMAT, classNames, preprocessing, entries }));
}

/**
 * Each split is shuffled (seeded) before it is cut, so every shard is a fair sample of its split:
 * a loader that streams shards sees all classes in each one, not ants first and bees later.
 */
export function cutShards(files: ScannedFile[], o: ImageIngestOptions): ImagePlan['shards'] {
  const shards: ImagePlan['shards'] = [];
  for (const split of SPLITS) {
    const indices = files.map((f, i) => (f.split === split ? i : -1)).filter((i) => i >= 0);
    const order = Array.from(seededPermutation(indices.length, o.seed), (p) => indices[p]);
    for (let start = 0; start < order.length; start += o.shardSize) shards.push({ split, files: order.slice(start, start + o.shardSize) });
  }
  return shards;
}

/** Finalize trusts nothing it reads: every shard of the plan exactly once, each from its split. */
export function checkShards(plan: ImagePlan, input: { planKey: string; shards: ShardResult[] }): ShardResult[] {
  const byIndex: (ShardResult | undefined)[] = Array.from({ length: plan.shards.length }, () => undefined);
  for (const r of input.shards) {
    const expected = plan.shards[r.shardIndex];
    if (!expected) throw new ImageIngestError(`shard ${r.shardIndex} is not in plan ${input.planKey} (${plan.shards.length} shards)`);
    if (byIndex[r.shardIndex]) throw new ImageIngestError(`shard ${r.shardIndex} was reported twice`);
    if (r.split !== expected.split) throw new ImageIngestError(`shard ${r.shardIndex} is a ${expected.split} shard, reported as ${r.split}`);
    const planned = expected.files.map((i) => plan.files[i].path).sort(byCodePoint);
    const reported = [...(r.shard.paths ?? []), ...r.rejected.map((x) => x.path)].sort(byCodePoint);
    if (r.shard.paths?.length !== r.shard.count || reported.join('\n') !== planned.join('\n')) {
      throw new ImageIngestError(`shard ${r.shardIndex}: its images and rejected files are not the ${planned.length} files the plan gave it`);
    }
    byIndex[r.shardIndex] = r;
  }
  const missing = byIndex.flatMap((r, i) => (r ? [] : [i]));
  if (missing.length > 0) throw new ImageIngestError(`plan ${input.planKey}: no result for shard(s) ${missing.join(', ')}`);
  return byIndex as ShardResult[];
}

export function datasetName(location: string): string {
  return path.posix.basename(location.replace(/\/+$/, '')).replace(/\.(zip|tar\.gz|tgz|tar)$/i, '') || location;
}

export function validateOptions(o: ImageIngestOptions): ImageIngestOptions {
  const bad = (what: string) => new ImageIngestError(`image ingestion: ${what}`);
  if (typeof o.data !== 'string' || o.data.trim() === '') throw bad('data must name a folder, an archive or s3://bucket/prefix');
  const size = o.imageSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((n) => Number.isInteger(n) && n >= 1 && n <= 4096)) {
    throw bad(`imageSize must be [height, width] with whole numbers from 1 to 4096, got ${JSON.stringify(size)}`);
  }
  if (o.colorMode !== 'rgb' && o.colorMode !== 'grayscale') throw bad(`colorMode must be rgb or grayscale, got ${JSON.stringify(o.colorMode)}`);
  if (!['cover', 'contain', 'fill'].includes(o.resize)) throw bad(`resize must be cover, contain or fill, got ${JSON.stringify(o.resize)}`);
  if (!Number.isInteger(o.seed)) throw bad(`seed must be a whole number, got ${o.seed}`);
  if (!(o.validationFraction >= 0 && o.validationFraction < 1)) throw bad(`validationFraction must be at least 0 and below 1, got ${o.validationFraction}`);
  if (!Number.isInteger(o.maxPixels) || o.maxPixels < 1) throw bad(`maxPixels must be a positive whole number, got ${o.maxPixels}`);
  if (!Number.isInteger(o.shardSize) || o.shardSize < 1) throw bad(`shardSize must be a positive whole number, got ${o.shardSize}`);
  const shardBytes = o.shardSize * size[0] * size[1] * channelsOf(o.colorMode);
  if (shardBytes > MAX_SHARD_BYTES) throw bad(`shardSize ${o.shardSize} makes ${shardBytes.toLocaleString('en-US')}-byte shards; at most ${MAX_SHARD_BYTES.toLocaleString('en-US')}`);
  // Only the known fields, in a fixed order: the plan is content-addressed.
  return {
    data: o.data,
    imageSize: [size[0], size[1]],
    colorMode: o.colorMode,
    resize: o.resize,
    seed: o.seed,
    validationFraction: o.validationFraction,
    shardSize: o.shardSize,
    maxPixels: o.maxPixels,
  };
}
