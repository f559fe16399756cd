// Activities: an image folder (dir, s3:// prefix or archive) → uint8 shards + manifest in S3,
// in three steps so a workflow can fan the decoding out:
//   plan      scan, upload the raw files content-addressed, cut the file list into shards;
//   shard     (one per shard, in parallel, on any worker) read raw files from S3, decode, write
//             the shard and its result (paths, rejected files) to S3, return counts only;
//   finalize  read the shard results, assemble the manifest, then the by-content pointer that
//             makes re-ingestion free.
// Each step writes only content-addressed objects (or, last, the pointer), so a retry of any
// step rewrites the same keys. The bodies are plain functions of (store, config, heartbeat);
// the activity wrappers at the bottom add progress heartbeats and non-retryable bad-input errors.
import { type ImageIngestOptions, type PlanResult, type ShardResult, type ShardSummary, type FinalizeResult } from '../contracts';
import { availableParallelism } from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ActivityDeps } from './deps';
import type { Config } from '../lib/config';
import { type ArtifactStore, NotFoundError } from '../lib/store/store';
import { DATASET_FORMAT, storeManifest, type DatasetManifest, type SplitManifest } from '../lib/data/dataset';
import { materializeImageSource } from '../lib/data/images/source';
import pLimit from 'p-limit';
import { SPLITS, scanImageFolder, byCodePoint, labelFiles, type FolderListing, type ImageFolderScan, type ScannedFile } from '../lib/data/images/scan';
import { hashedPageKey, hashedPageSchema, listingHeaderSchema, listingPageKey, listingPageSchema } from '../lib/data/images/listing';
import { ImageRejectedError, channelsOf, imageToTensorBytes } from '../lib/data/images/decode';
import { heartbeatProgress } from './progress';
import { immutableRecords } from '../lib/store/immutable-cache';
import { ImageIngestError, PLAN_FORMAT, asUnreadableError, PREFIX, RAW_PREFIX, MAX_FILE_BYTES, checkShards, contentRefSchema, shardResultKey, shardResultSchema, cutShards, datasetIdentity, datasetName, planSchema, rawKeyOf, refKeyOf, validateOptions, type ContentRef, type ImagePlan } from '../lib/data/images/plan';

/** What the step bodies need; in a test `heartbeat` can be a no-op. */
export interface IngestEnv {
  store: ArtifactStore;
  config: Config;
  heartbeat: (details: { message: string; done?: number; total?: number }) => void;
}

const UPLOAD_CONCURRENCY = 8;
/** sharp decodes on libuv's thread pool; a few more in flight than cores keeps it busy while S3 reads wait. */
const DECODE_CONCURRENCY = Math.max(2, availableParallelism() + 2);
/** Finalize reads this many shard results at once. */
const RESULT_READ_CONCURRENCY = 16;
/** Plans are content-addressed: one parse per worker serves all its shard steps. */
const cachedPlan = immutableRecords<ImagePlan>(2);

/**
 * Plans a dataset. Given a `listingKey` (a local folder listed and hashed in pages by the
 * activities of ./list-images.ts) it reads the files and their hashes from there, the raw
 * files already uploaded; otherwise it materializes the source, then scans, hashes and uploads
 * here, in one activity (archives and s3:// prefixes).
 */
export async function planImageDatasetCore(env: IngestEnv, input: ImageIngestOptions & { listingKey?: string }): Promise<PlanResult> {
  const started = Date.now();
  const options = validateOptions(input);
  const { store, config, heartbeat } = env;
  if (input.listingKey) {
    const { scan, header } = await scanFromListing(store, input.listingKey, options, heartbeat);
    return planFromScan(env, options, scan, { kind: 'dir', location: header.data }, started, async () => {});
  }
  const source = await materializeImageSource(options.data, store, config.workDir, { onProgress: (message) => heartbeat({ message }) });
  try {
    heartbeat({ message: 'scanning and hashing files' });
    const scan = await scanImageFolder(source.root, {
      seed: options.seed,
      validationFraction: options.validationFraction,
      onProgress: (message) => heartbeat({ message }),
    }).catch((err: NodeJS.ErrnoException) => {
      throw asUnreadableError(options.data, err);
    });
    return await planFromScan(env, options, scan, { kind: source.kind, location: source.location }, started, (files) => uploadRawFiles(env, source.root, files));
  } finally {
    await source.cleanup();
  }
}

/** The scan → the plan (or the dataset already stored): big files set aside, identity, raw upload, shards. */
async function planFromScan(
  env: IngestEnv,
  options: ImageIngestOptions,
  scan: ImageFolderScan,
  source: ImagePlan['source'],
  started: number,
  upload: (files: ScannedFile[]) => Promise<void>,
): Promise<PlanResult> {
  const { store } = env;
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
  await upload(files);

  const plan: ImagePlan = {
    format: PLAN_FORMAT,
    datasetKey,
    options,
    source,
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
}

/** Raw bytes go to S3 once per distinct content, so shard steps on any machine can read them. */
async function uploadRawFiles(env: IngestEnv, root: string, files: ScannedFile[]): Promise<void> {
  const distinct = [...new Map(files.map((f) => [f.sha256, f])).values()];
  let uploaded = 0;
  const uploads = pLimit(UPLOAD_CONCURRENCY);
  await Promise.all(
    distinct.map((f) =>
      uploads(async () => {
        const stored = await env.store.putContent(RAW_PREFIX, await fs.promises.readFile(path.join(root, f.path)));
        if (stored.sha256 !== f.sha256) throw new ImageIngestError(`${f.path} changed while it was being ingested; run again`);
        env.heartbeat({ message: `uploading raw files`, done: ++uploaded, total: distinct.length });
      }),
    ),
  );
}

/** A listed folder's files, labels and hashes, read back page by page. */
async function scanFromListing(store: ArtifactStore, listingKey: string, options: ImageIngestOptions, heartbeat: IngestEnv['heartbeat']) {
  const header = await store.getJson(listingKey, listingHeaderSchema);
  if (header.data !== options.data) throw new ImageIngestError(`listing ${listingKey} is of ${header.data}, not of ${options.data}`);
  const reads = pLimit(RESULT_READ_CONCURRENCY);
  let done = 0;
  const pages = await Promise.all(
    Array.from({ length: header.pages }, (_, page) =>
      reads(async () => {
        const [listed, hashed] = await Promise.all([store.getJson(listingPageKey(header.id, page), listingPageSchema), store.getJson(hashedPageKey(header.id, page), hashedPageSchema)]);
        if (listed.files.length !== hashed.hashes.length) throw new ImageIngestError(`listing ${listingKey}, page ${page}: ${listed.files.length} files but ${hashed.hashes.length} hashes`);
        heartbeat({ message: 'reading the listing', done: ++done, total: header.pages });
        return { listed: listed.files, hashes: hashed.hashes };
      }),
    ),
  );
  const listing: FolderListing = { root: header.root, layout: header.layout, classNames: header.classNames, skipped: header.skipped, files: pages.flatMap((p) => p.listed) };
  const scan = labelFiles(listing, pages.flatMap((p) => p.hashes), options);
  return { scan, header };
}

export async function ingestImageShardCore(env: IngestEnv, input: { planKey: string; shardIndex: number }): Promise<ShardSummary> {
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
  const seconds = (Date.now() - started) / 1000;
  const result: ShardResult = {
    shardIndex: input.shardIndex,
    split: entry.split,
    shard: { count: kept.length, images: imagesObj, labels: labelsObj, paths: kept.map((i) => files[i].path) },
    rejected,
    seconds,
  };
  // The paths stay in S3; only the counts cross workflow history.
  await store.putJson(shardResultKey(input.planKey, input.shardIndex), result);
  return { shardIndex: input.shardIndex, split: entry.split, count: kept.length, rejected: rejected.length, seconds };
}

export async function finalizeImageDatasetCore(env: IngestEnv, input: { planKey: string }): Promise<FinalizeResult> {
  const started = Date.now();
  const { store, heartbeat } = env;
  const plan = await loadPlan(store, input.planKey);
  const byIndex = checkShards(plan, { planKey: input.planKey, shards: await readShardResults(store, input.planKey, plan.shards.length, heartbeat) });
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

/** Every shard step's stored result; a missing one is left out, for checkShards to name. */
async function readShardResults(store: ArtifactStore, planKey: string, shards: number, heartbeat: IngestEnv['heartbeat']): Promise<ShardResult[]> {
  const reads = pLimit(RESULT_READ_CONCURRENCY);
  let done = 0;
  const results = await Promise.all(
    Array.from({ length: shards }, (_, i) =>
      reads(async () => {
        // One read per shard: a missing result is left for checkShards to name.
        const result = await store.getJson(shardResultKey(planKey, i), shardResultSchema).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        });
        heartbeat({ message: 'reading shard results', done: ++done, total: shards });
        return result;
      }),
    ),
  );
  return results.filter((r): r is ShardResult => r !== undefined);
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
  // The schema checks the format too: another format is a RecordFormatError naming the key.
  return cachedPlan(store, planKey, () => store.getJson(planKey, planSchema));
}

/** The step bodies' environment in a worker: its store and config, heartbeats as ingest progress. */
export function ingestEnv(deps: ActivityDeps): IngestEnv {
  const { store, config } = deps();
  return {
    store,
    config,
    heartbeat: ({ message, done, total }) => heartbeatProgress({ step: 'ingest', message, done, total, ...(done !== undefined && total ? { fraction: done / total } : {}) }),
  };
}

export function imageIngestActivities(deps: ActivityDeps) {
  return {
    planImageDataset: (input: ImageIngestOptions & { listingKey?: string }): Promise<PlanResult> => planImageDatasetCore(ingestEnv(deps), input),
    ingestImageShard: (input: { planKey: string; shardIndex: number }): Promise<ShardSummary> => ingestImageShardCore(ingestEnv(deps), input),
    finalizeImageDataset: (input: { planKey: string }): Promise<FinalizeResult> => finalizeImageDatasetCore(ingestEnv(deps), input),
  };
}
