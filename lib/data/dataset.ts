// The stored dataset format: uint8 image shards + label shards + a manifest that names them.
// The manifest is stored under its own SHA-256, which is the dataset's identity.
import type { ShardRef } from '../../contracts';
import pLimit from 'p-limit';
import { z } from 'zod';
import { type ArtifactStore, sha256Hex, storedObjectSchema } from '../store/store';
import { immutableRecords } from '../store/immutable-cache';

/** Shards a split's reader keeps in flight: enough to hide S3 latency, few enough to bound memory. */
export const SHARD_READS_IN_FLIGHT = 4;

export const DATASET_FORMAT = 'tl.dataset/v1';

export interface SplitManifest {
  count: number;
  classCounts: number[];
  shards: ShardRef[];
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  name: string;
  imageShape: [number, number, number];
  classNames: string[];
  source: { kind: string; location: string; files: { name: string; sha256: string; bytes: number }[] };
  splits: Record<string, SplitManifest>;
  /** How images were turned into tensors (image-folder datasets). */
  preprocessing?: { size: [number, number]; colorMode: 'rgb' | 'grayscale'; resize: 'cover' | 'contain' | 'fill' };
  /** What ingestion set aside or flagged; none of it stops a run. */
  quality?: {
    rejected: { path: string; reason: string }[];
    duplicates: { sha256: string; paths: string[] }[];
    crossSplit: { sha256: string; paths: string[] }[];
  };
}

const sameContentSchema = z.object({ sha256: z.string(), paths: z.array(z.string()) });

/** What a stored manifest must hold before any shard is read. */
export const manifestSchema: z.ZodType<DatasetManifest> = z
  .object({
    format: z.literal(DATASET_FORMAT),
    name: z.string(),
    imageShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    classNames: z.array(z.string()).min(1),
    source: z.object({ kind: z.string(), location: z.string(), files: z.array(z.object({ name: z.string(), sha256: z.string(), bytes: z.number() })) }),
    splits: z.record(
      z.string(),
      z.object({
        count: z.number().int().nonnegative(),
        classCounts: z.array(z.number().int().nonnegative()),
        shards: z.array(z.object({ count: z.number().int().nonnegative(), images: storedObjectSchema, labels: storedObjectSchema, paths: z.array(z.string()).optional() })),
      }),
    ),
    preprocessing: z
      .object({ size: z.tuple([z.number(), z.number()]), colorMode: z.enum(['rgb', 'grayscale']), resize: z.enum(['cover', 'contain', 'fill']) })
      .optional(),
    quality: z
      .object({ rejected: z.array(z.object({ path: z.string(), reason: z.string() })), duplicates: z.array(sameContentSchema), crossSplit: z.array(sameContentSchema) })
      .optional(),
  })
  .describe(`tl dataset manifest (${DATASET_FORMAT})`);

export interface StoredManifest {
  key: string;
  sha256: string;
  manifest: DatasetManifest;
}

export async function storeManifest(store: ArtifactStore, prefix: string, manifest: DatasetManifest): Promise<StoredManifest> {
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
  const stored = await store.putContent(`${prefix}/manifests`, bytes, '.json', 'application/json');
  return { key: stored.key, sha256: stored.sha256, manifest };
}

/** Manifests are content-addressed: each worker parses one once for all its shard activities. */
const cachedManifest = immutableRecords<DatasetManifest>(4);

export async function loadManifest(store: ArtifactStore, key: string): Promise<DatasetManifest> {
  return cachedManifest(store, key, () => store.getJson(key, manifestSchema));
}

export interface SplitData {
  count: number;
  imageShape: [number, number, number];
  images: Uint8Array;
  labels: Uint8Array;
}

/**
 * Rows of a split, fetched by global row index: held in memory (inMemoryRows) or read shard
 * by shard from the store (lib/data/shard-reader.ts). Images come back in the order asked.
 */
export interface SplitRows {
  count: number;
  imageShape: [number, number, number];
  gather(rows: ArrayLike<number>): Promise<{ images: Uint8Array; labels: Uint8Array }>;
}

/** A split already in memory, read through the same interface as a streamed one. */
export function inMemoryRows(data: SplitData): SplitRows {
  return { count: data.count, imageShape: data.imageShape, gather: async (rows) => gatherImages(data, rows) };
}

/** Either kind of split as SplitRows. */
export function asSplitRows(data: SplitData | SplitRows): SplitRows {
  return 'gather' in data ? data : inMemoryRows(data);
}

/** Reads one split's shards (hash-verified by the store) into memory; large splits stream instead (lib/data/shard-reader.ts). */
export async function loadSplit(store: ArtifactStore, manifest: DatasetManifest, split: string): Promise<SplitData> {
  const entry = manifest.splits[split];
  if (!entry) throw new Error(`dataset ${manifest.name} has no split ${JSON.stringify(split)} (has ${Object.keys(manifest.splits).join(', ')})`);
  const pixels = manifest.imageShape.reduce((a, b) => a * b, 1);
  const images = new Uint8Array(entry.count * pixels);
  const labels = new Uint8Array(entry.count);
  const offsets: number[] = [];
  entry.shards.reduce((offset, shard) => (offsets.push(offset), offset + shard.count), 0);
  // A few shards in flight, so one's download overlaps another's hash check and copy.
  const limit = pLimit(SHARD_READS_IN_FLIGHT);
  await Promise.all(
    entry.shards.map((shard, i) =>
      limit(async () => {
        const [img, lab] = await Promise.all([store.getBytes(shard.images.key), store.getBytes(shard.labels.key)]);
        if (img.length !== shard.count * pixels || lab.length !== shard.count) {
          throw new Error(`shard ${shard.images.key}: expected ${shard.count} images, found ${img.length / pixels} images and ${lab.length} labels`);
        }
        images.set(img, offsets[i] * pixels);
        labels.set(lab, offsets[i]);
      }),
    ),
  );
  return { count: entry.count, imageShape: manifest.imageShape, images, labels };
}

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates permutation of 0..n-1 driven by a seed. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const random = seededRandom(seed);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** Splits (a seeded subset of) the training split into train and validation indices. */
export function trainValidationSplit(
  count: number,
  opts: { seed: number; validationFraction: number; limit?: number },
): { train: Uint32Array; validation: Uint32Array } {
  const perm = seededPermutation(count, opts.seed);
  const used = opts.limit && opts.limit < count ? perm.subarray(0, opts.limit) : perm;
  const nVal = Math.max(1, Math.round(used.length * opts.validationFraction));
  return { validation: used.slice(0, nVal), train: used.slice(nVal) };
}

/** Copies the selected images (raw uint8) and their labels. */
export function gatherImages(data: SplitData, indices: ArrayLike<number>): { images: Uint8Array; labels: Uint8Array } {
  const pixels = data.imageShape[0] * data.imageShape[1] * data.imageShape[2];
  const images = new Uint8Array(indices.length * pixels);
  const labels = new Uint8Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    images.set(data.images.subarray(indices[b] * pixels, (indices[b] + 1) * pixels), b * pixels);
    labels[b] = data.labels[indices[b]];
  }
  return { images, labels };
}

/**
 * One-hot targets; with label smoothing ε > 0 each row is (1 − ε)·one-hot + ε/k, which plain
 * cross-entropy then trains on (a string loss, so a checkpoint's training config still saves).
 */
export function oneHot(labels: Uint8Array, numClasses: number, labelSmoothing = 0): Float32Array {
  const y = new Float32Array(labels.length * numClasses);
  if (labelSmoothing > 0) y.fill(labelSmoothing / numClasses);
  const hit = 1 - labelSmoothing + labelSmoothing / numClasses;
  for (let i = 0; i < labels.length; i++) y[i * numClasses + labels[i]] = hit;
  return y;
}

/** The selected images as floats scaled to [0, 1], with one-hot labels (the lab CNN's input). */
export function gatherBatch(
  data: SplitData,
  indices: ArrayLike<number>,
  numClasses: number,
): { x: Float32Array; y: Float32Array; labels: Uint8Array } {
  return unitBatch(gatherImages(data, indices), numClasses);
}

/** Gathered images as floats scaled to [0, 1], with one-hot labels. */
export function unitBatch(batch: { images: Uint8Array; labels: Uint8Array }, numClasses: number, labelSmoothing = 0): { x: Float32Array; y: Float32Array; labels: Uint8Array } {
  const { images, labels } = batch;
  const x = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) x[i] = images[i] / 255;
  return { x, y: oneHot(labels, numClasses, labelSmoothing), labels };
}

/** A stable identity for a set of source files, from their content hashes. */
export function sourceFingerprint(files: { name: string; sha256: string }[]): string {
  return sha256Hex(files.map((f) => `${f.name}:${f.sha256}`).sort().join('\n'));
}
