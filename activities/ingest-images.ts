// Activities: an image folder (dir, s3:// prefix or archive) → uint8 shards + manifest in S3,
// in three steps so a workflow can fan the decoding out:
//   plan      scan, upload the raw files content-addressed, cut the file list into shards;
//   shard     (one per shard, in parallel, on any worker) read raw files from S3, decode, write;
//   finalize  assemble the manifest, then the by-content pointer that makes re-ingestion free.
// Each step writes only content-addressed objects (or, last, the pointer), so a retry of any
// step rewrites the same keys. The bodies are plain functions of (store, config, heartbeat);
// the activity wrappers at the bottom add progress heartbeats and non-retryable bad-input errors.
import { availableParallelism } from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { ActivityDeps } from './deps';
import type { Config } from '../lib/config';
import type { IngestResult } from '../contracts';
import { type ArtifactStore, sha256Hex } from '../lib/store/store';
import { DATASET_FORMAT, seededPermutation, storeManifest, type DatasetManifest, type ShardRef, type SplitManifest } from '../lib/data/dataset';
import { materializeImageSource } from '../lib/data/images/source';
import pLimit from 'p-limit';
import { SPLITS, scanImageFolder, byCodePoint, type ImageFolderScan, type ScannedFile, type Split } from '../lib/data/images/scan';
import { DECODER_VERSION, ImageRejectedError, channelsOf, imageToTensorBytes } from '../lib/data/images/decode';
import { heartbeatProgress } from './progress';
import { BadInputError } from '../lib/errors';

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

/** What the step bodies need; in a test `heartbeat` can be a no-op. */
export interface IngestEnv {
  store: ArtifactStore;
  config: Config;
  heartbeat: (details: { message: string; done?: number; total?: number }) => void;
}

export class ImageIngestError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'ImageIngestError';
  }
}

const PREFIX = 'datasets/images';
const RAW_PREFIX = 'datasets/raw';
const PLAN_FORMAT = 'tl.image-plan/v1';
/** Raw files are read whole into memory to upload and to decode; bigger ones are set aside. */
const MAX_FILE_BYTES = 256 * 1024 ** 2;
/** One shard's images are one S3 object held in memory. */
const MAX_SHARD_BYTES = 1024 ** 3;
const UPLOAD_CONCURRENCY = 8;
/** sharp decodes on libuv's thread pool; a few more in flight than cores keeps it busy while S3 reads wait. */
const DECODE_CONCURRENCY = Math.max(2, availableParallelism() + 2);

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
interface ContentRef {
  manifestKey: string;
  datasetSha256: string;
  planKey: string;
  shards: number;
}

const sameContentSchema = z.object({ sha256: z.string(), paths: z.array(z.string()) });
const splitSchema = z.enum(['train', 'val', 'test']);

const planSchema: z.ZodType<ImagePlan> = z
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

const contentRefSchema: z.ZodType<ContentRef> = z
  .object({ manifestKey: z.string(), datasetSha256: z.string(), planKey: z.string(), shards: z.number().int().nonnegative() })
  .describe('dataset content pointer');

const refKeyOf = (datasetKey: string) => `${PREFIX}/by-content/${datasetKey}.json`;
const rawKeyOf = (sha256: string) => `${RAW_PREFIX}/${sha256}`;

export async function planImageDatasetCore(env: IngestEnv, input: ImageIngestOptions): Promise<PlanResult> {
  const started = Date.now();
  const options = validateOptions(input);
  const { store, config, heartbeat } = env;
  const source = await materializeImageSource(options.data, store, config.workDir, { onProgress: (message) => heartbeat({ message }) });
  try {
    heartbeat({ message: 'scanning and hashing files' });
    const scan = await scanImageFolder(source.root, {
      seed: options.seed,
      validationFraction: options.validationFraction,
      onProgress: (message) => heartbeat({ message }),
    }).catch((err: NodeJS.ErrnoException) => {
      // An unreadable file stays unreadable on retry: name it and stop.
      if (err.code === 'EACCES' || err.code === 'EPERM') throw new ImageIngestError(`image folder ${options.data}: cannot read ${err.path ?? 'a file'} (permission denied)`);
      throw err;
    });
    const files = scan.files.filter((f) => f.bytes <= MAX_FILE_BYTES);
    const skipped = [...scan.skipped];
    for (const f of scan.files) if (f.bytes > MAX_FILE_BYTES) skipped.push({ path: f.path, reason: `file larger than ${MAX_FILE_BYTES / 1024 ** 2} MiB` });
    const datasetKey = datasetIdentity(files, scan.classNames, options);

    const ref = await existingRef(store, datasetKey);
    if (ref) {
      return {
        cached: true,
        cacheReason: `same files, labels, split and preprocessing as dataset ${ref.datasetSha256}`,
        manifestKey: ref.manifestKey,
        planKey: ref.planKey,
        shards: ref.shards,
        seconds: (Date.now() - started) / 1000,
        files: files.length,
        datasetKey,
      };
    }

    // Raw bytes go to S3 once per distinct content, so shard steps on any machine can read them.
    const distinct = [...new Map(files.map((f) => [f.sha256, f])).values()];
    let uploaded = 0;
    const uploads = pLimit(UPLOAD_CONCURRENCY);
    await Promise.all(
      distinct.map((f) =>
        uploads(async () => {
          const stored = await store.putContent(RAW_PREFIX, await fs.promises.readFile(path.join(source.root, f.path)));
          if (stored.sha256 !== f.sha256) throw new ImageIngestError(`${f.path} changed while it was being ingested; run again`);
          heartbeat({ message: `uploading raw files`, done: ++uploaded, total: distinct.length });
        }),
      ),
    );

    const plan: ImagePlan = {
      format: PLAN_FORMAT,
      datasetKey,
      options,
      source: { kind: source.kind, location: source.location },
      layout: scan.layout,
      classNames: scan.classNames,
      files,
      shards: cutShards(files, options),
      skipped: skipped.sort((a, b) => byCodePoint(a.path, b.path)),
      duplicates: scan.duplicates,
      crossSplit: scan.crossSplit,
    };
    const stored = await store.putContent(`${PREFIX}/plans`, Buffer.from(JSON.stringify(plan)), '.json', 'application/json');
    return {
      cached: false,
      cacheReason: 'no dataset with these files, labels, split and preprocessing yet',
      planKey: stored.key,
      shards: plan.shards.length,
      files: files.length,
      datasetKey,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await source.cleanup();
  }
}

export async function ingestImageShardCore(env: IngestEnv, input: { planKey: string; shardIndex: number }): Promise<ShardResult> {
  const started = Date.now();
  const { store, heartbeat } = env;
  const plan = await loadPlan(store, input.planKey);
  const entry = plan.shards[input.shardIndex];
  if (!Number.isInteger(input.shardIndex) || !entry) {
    throw new ImageIngestError(`plan ${input.planKey} has shards 0..${plan.shards.length - 1}, not ${input.shardIndex}`);
  }
  const { imageSize, colorMode, resize, maxPixels } = plan.options;
  const files = entry.files.map((i) => plan.files[i]);

  // Identical files in one shard are decoded once.
  const decoded = new Map<string, Promise<Uint8Array | ImageRejectedError>>();
  let done = 0;
  const decodes = pLimit(DECODE_CONCURRENCY);
  const results = await Promise.all(
    files.map((f) =>
      decodes(async () => {
        if (!decoded.has(f.sha256)) {
          decoded.set(
            f.sha256,
            store.getBytes(rawKeyOf(f.sha256)).then((bytes) =>
              imageToTensorBytes(bytes, { size: imageSize, colorMode, resize, maxPixels }).catch((err: unknown) => {
                if (err instanceof ImageRejectedError) return err; // listed, never fatal
                throw err;
              }),
            ),
          );
        }
        const out = await decoded.get(f.sha256)!;
        heartbeat({ message: `shard ${input.shardIndex}: decoding`, done: ++done, total: files.length });
        return out;
      }),
    ),
  );

  const kept: number[] = [];
  const rejected: ShardResult['rejected'] = [];
  results.forEach((r, i) => (r instanceof ImageRejectedError ? rejected.push({ path: files[i].path, reason: r.reason }) : kept.push(i)));
  const pixels = imageSize[0] * imageSize[1] * channelsOf(colorMode);
  const images = new Uint8Array(kept.length * pixels);
  const labels = new Uint8Array(kept.length);
  kept.forEach((i, k) => {
    images.set(results[i] as Uint8Array, k * pixels);
    labels[k] = files[i].label;
  });
  heartbeat({ message: `shard ${input.shardIndex}: writing ${kept.length} images` });
  const [imagesObj, labelsObj] = await Promise.all([
    store.putContent(`${PREFIX}/shards`, images, '.u8'),
    store.putContent(`${PREFIX}/shards`, labels, '.u8'),
  ]);
  return {
    shardIndex: input.shardIndex,
    split: entry.split,
    shard: { count: kept.length, images: imagesObj, labels: labelsObj, paths: kept.map((i) => files[i].path) },
    rejected,
    seconds: (Date.now() - started) / 1000,
  };
}

export async function finalizeImageDatasetCore(env: IngestEnv, input: { planKey: string; shards: ShardResult[] }): Promise<FinalizeResult> {
  const started = Date.now();
  const { store } = env;
  const plan = await loadPlan(store, input.planKey);
  const byIndex = checkShards(plan, input);
  const labelOf = new Map(plan.files.map((f) => [f.path, f.label]));

  const splits: Record<string, SplitManifest> = {};
  for (const split of SPLITS) {
    const results = byIndex.filter((r) => r.split === split);
    if (results.length === 0) continue;
    const classCounts = new Array<number>(plan.classNames.length).fill(0);
    for (const r of results) for (const p of r.shard.paths ?? []) classCounts[labelOf.get(p)!]++;
    const shards = results.map((r) => r.shard).filter((s) => s.count > 0);
    splits[split] = { count: shards.reduce((n, s) => n + s.count, 0), classCounts, shards };
  }
  if (!splits.train || splits.train.count === 0) {
    throw new ImageIngestError(`${plan.source.location}: none of the training images could be decoded (see the rejected files)`);
  }

  const rejected = [...plan.skipped, ...byIndex.flatMap((r) => r.rejected)].sort((a, b) => byCodePoint(a.path, b.path));
  const { imageSize, colorMode, resize } = plan.options;
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    name: datasetName(plan.source.location),
    imageShape: [imageSize[0], imageSize[1], channelsOf(colorMode)],
    classNames: plan.classNames,
    source: { kind: plan.source.kind, location: plan.source.location, files: plan.files.map((f) => ({ name: f.path, sha256: f.sha256, bytes: f.bytes })) },
    splits,
    preprocessing: { size: imageSize, colorMode, resize },
    quality: { rejected, duplicates: plan.duplicates, crossSplit: plan.crossSplit },
  };
  const stored = await storeManifest(store, PREFIX, manifest);
  const ref: ContentRef = { manifestKey: stored.key, datasetSha256: stored.sha256, planKey: input.planKey, shards: plan.shards.length };
  // The pointer is written last: it exists only once everything it points to does.
  await store.putJson(refKeyOf(plan.datasetKey), ref);
  return {
    manifestKey: stored.key,
    datasetSha256: stored.sha256,
    cached: false,
    counts: Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.count])),
    classNames: plan.classNames,
    seconds: (Date.now() - started) / 1000,
    quality: { rejected: rejected.length, duplicates: plan.duplicates.length, crossSplit: plan.crossSplit.length },
  };
}

/**
 * Same files (by content), labels, splits, classes and preprocessing → same dataset. Paths, seed
 * and shard size are left out: they change neither which pixels are stored nor their labels.
 */
function datasetIdentity(files: ScannedFile[], classNames: string[], o: ImageIngestOptions): string {
  const entries = files.map((f) => `${f.sha256} ${f.label} ${f.split}`).sort(byCodePoint);
  const preprocessing = { size: o.imageSize, colorMode: o.colorMode, resize: o.resize, maxPixels: o.maxPixels, decoder: DECODER_VERSION };
  return sha256Hex(JSON.stringify({ format: DATASET_FORMAT, classNames, preprocessing, entries }));
}

/**
 * Each split is shuffled (seeded) before it is cut, so every shard is a fair sample of its split:
 * a loader that streams shards sees all classes in each one, not ants first and bees later.
 */
function cutShards(files: ScannedFile[], o: ImageIngestOptions): ImagePlan['shards'] {
  const shards: ImagePlan['shards'] = [];
  for (const split of SPLITS) {
    const indices = files.map((f, i) => (f.split === split ? i : -1)).filter((i) => i >= 0);
    const order = Array.from(seededPermutation(indices.length, o.seed), (p) => indices[p]);
    for (let start = 0; start < order.length; start += o.shardSize) shards.push({ split, files: order.slice(start, start + o.shardSize) });
  }
  return shards;
}

async function existingRef(store: ArtifactStore, datasetKey: string): Promise<ContentRef | undefined> {
  if (!(await store.head(refKeyOf(datasetKey)))) return undefined;
  const ref = await store.getJson(refKeyOf(datasetKey), contentRefSchema);
  // A pointer whose manifest is gone (a cleaned bucket) is no cache: ingest again.
  return (await store.head(ref.manifestKey)) ? ref : undefined;
}

async function loadPlan(store: ArtifactStore, planKey: string): Promise<ImagePlan> {
  if (typeof planKey !== 'string' || !planKey.startsWith(`${PREFIX}/plans/`)) {
    throw new ImageIngestError(`${JSON.stringify(planKey)} is not an image-ingestion plan key (${PREFIX}/plans/…)`);
  }
  const plan = await store.getJson(planKey, planSchema);
  if (plan.format !== PLAN_FORMAT) throw new ImageIngestError(`${planKey}: not an image-ingestion plan (format ${JSON.stringify(plan.format)})`);
  return plan;
}

/** Finalize trusts nothing it is handed: every shard of the plan exactly once, each from its split. */
function checkShards(plan: ImagePlan, input: { planKey: string; shards: ShardResult[] }): ShardResult[] {
  const byIndex: (ShardResult | undefined)[] = Array.from({ length: plan.shards.length }, () => undefined);
  for (const r of input.shards) {
    const expected = plan.shards[r.shardIndex];
    if (!expected) throw new ImageIngestError(`shard ${r.shardIndex} is not in plan ${input.planKey} (${plan.shards.length} shards)`);
    if (byIndex[r.shardIndex]) throw new ImageIngestError(`shard ${r.shardIndex} was handed to finalize twice`);
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

function datasetName(location: string): string {
  return path.posix.basename(location.replace(/\/+$/, '')).replace(/\.(zip|tar\.gz|tgz|tar)$/i, '') || location;
}

function validateOptions(o: ImageIngestOptions): ImageIngestOptions {
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

export function imageIngestActivities(deps: ActivityDeps) {
  const env = (): IngestEnv => {
    const { store, config } = deps();
    return {
      store,
      config,
      heartbeat: ({ message, done, total }) => heartbeatProgress({ step: 'ingest', message, done, total, ...(done !== undefined && total ? { fraction: done / total } : {}) }),
    };
  };
  return {
    planImageDataset: (input: ImageIngestOptions): Promise<PlanResult> => planImageDatasetCore(env(), input),
    ingestImageShard: (input: { planKey: string; shardIndex: number }): Promise<ShardResult> => ingestImageShardCore(env(), input),
    finalizeImageDataset: (input: { planKey: string; shards: ShardResult[] }): Promise<FinalizeResult> => finalizeImageDatasetCore(env(), input),
  };
}
