// Activity: Fashion-MNIST IDX files → uint8 shards + manifest in S3. Idempotent: the same
// source files map to the same manifest, and a second ingestion only reads a pointer.
import { z } from 'zod';
import type { ActivityDeps } from './deps';
import { type IngestResult, type ShardRef } from '../contracts';
import { gunzipIdx, parseImageLabelPair } from '../lib/data/idx';
import { FASHION_MNIST_CLASSES, parseSource, readSourceFiles, CANONICAL_CONTENT_SHA256, type FashionMnistFile } from '../lib/data/fashion-mnist';
import { DATASET_FORMAT, sourceFingerprint, storeManifest, type DatasetManifest, type SplitManifest } from '../lib/data/dataset';
import { sha256Hex } from '../lib/store/store';
import { heartbeatProgress } from './progress';

const DATASET_PREFIX = 'datasets/fashion-mnist';
const SHARD_SIZE = 10_000;

/** The pointer from a set of source files to the dataset made from them. */
const sourceRefSchema: z.ZodType<Omit<IngestResult, 'cached' | 'seconds'>> = z
  .object({
    manifestKey: z.string(),
    datasetSha256: z.string(),
    counts: z.record(z.string(), z.number().int().nonnegative()),
    classNames: z.array(z.string()),
  })
  .describe('Fashion-MNIST source pointer');

export function ingestFashionMnistActivity(deps: ActivityDeps) {
  return async function ingestFashionMnist(input: { source?: string }): Promise<IngestResult> {
    const started = Date.now();
    const { store, config } = deps();
    const source = parseSource(input.source ?? config.fashionMnistDir, store.bucket);
    const files = await readSourceFiles(source, store);
    const fingerprint = sourceFingerprint(Object.values(files));
    const refKey = `${DATASET_PREFIX}/sources/${fingerprint}.json`;

    const ref = await store.head(refKey);
    if (ref) {
      const cached = await store.getJson(refKey, sourceRefSchema);
      if (await store.head(cached.manifestKey)) return { ...cached, cached: true, seconds: (Date.now() - started) / 1000 };
    }

    const heartbeat = (message: string, done?: number, total?: number) =>
      heartbeatProgress({ step: 'ingest', message, done, total, ...(done !== undefined && total ? { fraction: done / total } : {}) });
    const splits: Record<string, SplitManifest> = {};
    const contentHashes: { name: string; sha256: string; bytes: number }[] = [];
    let canonical = true;
    // Every file is parsed and checked before the first shard is written, so a bad file
    // leaves nothing behind (not even shards of the good ones).
    const parsed: { split: string; data: ReturnType<typeof parseImageLabelPair> }[] = [];
    for (const [split, imagesId, labelsId] of [
      ['train', 'trainImages', 'trainLabels'],
      ['test', 'testImages', 'testLabels'],
    ] as [string, FashionMnistFile, FashionMnistFile][]) {
      heartbeat(`parsing ${split}`);
      const images = gunzipIdx(files[imagesId].name, files[imagesId].bytes);
      const labels = gunzipIdx(files[labelsId].name, files[labelsId].bytes);
      for (const [id, bytes] of [[imagesId, images], [labelsId, labels]] as [FashionMnistFile, Uint8Array][]) {
        const sha256 = sha256Hex(bytes);
        canonical &&= sha256 === CANONICAL_CONTENT_SHA256[id];
        contentHashes.push({ name: files[id].name, sha256, bytes: bytes.length });
      }
      const data = parseImageLabelPair(
        { source: files[imagesId].name, bytes: images },
        { source: files[labelsId].name, bytes: labels },
        { height: 28, width: 28, numClasses: FASHION_MNIST_CLASSES.length },
      );
      parsed.push({ split, data });
    }
    for (const { split, data } of parsed) {
      const shards: ShardRef[] = [];
      const pixels = data.height * data.width;
      const shardCount = Math.ceil(data.count / SHARD_SIZE);
      for (let start = 0; start < data.count; start += SHARD_SIZE) {
        const end = Math.min(start + SHARD_SIZE, data.count);
        heartbeat(`writing ${split} shards`, shards.length, shardCount);
        shards.push({
          count: end - start,
          images: await store.putContent(`${DATASET_PREFIX}/shards`, data.images.subarray(start * pixels, end * pixels), '.u8'),
          labels: await store.putContent(`${DATASET_PREFIX}/shards`, data.labels.subarray(start, end), '.u8'),
        });
      }
      const classCounts = new Array(FASHION_MNIST_CLASSES.length).fill(0);
      for (const label of data.labels) classCounts[label]++;
      splits[split] = { count: data.count, classCounts, shards };
    }

    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      name: canonical ? 'fashion-mnist' : 'fashion-mnist (modified copy)',
      imageShape: [28, 28, 1],
      classNames: FASHION_MNIST_CLASSES,
      source: { kind: source.kind, location: source.location, files: contentHashes },
      splits,
    };
    const stored = await storeManifest(store, DATASET_PREFIX, manifest);
    const result = {
      manifestKey: stored.key,
      datasetSha256: stored.sha256,
      counts: Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.count])),
      classNames: FASHION_MNIST_CLASSES,
    };
    // The pointer is written last: it exists only once everything it points to does.
    await store.putJson(refKey, result);
    return { ...result, cached: false, seconds: (Date.now() - started) / 1000 };
  };
}
