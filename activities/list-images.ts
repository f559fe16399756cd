// Activities: a local image folder listed, then hashed and uploaded page by page, so that a
// folder of a million files is read by many activities at once (on every worker that sees
// its path) instead of one. The plan step (./ingest-images.ts) then reads the pages back.
//   list   walk the folder (every folder rule checked), store pages of paths, then the header;
//   hash   (one per page) read each file once: SHA-256, upload the raw bytes content-addressed,
//          store the page's hashes beside it.
// Keys are fixed by the folder's state, so a retried step rewrites the same objects.
import * as fs from 'node:fs';
import * as path from 'node:path';
import pLimit from 'p-limit';
import type { HashedPage, ImageIngestOptions, ListingResult } from '../contracts';
import type { ActivityDeps } from './deps';
import { ingestEnv, type IngestEnv } from './ingest-images';
import { listImageFolder } from '../lib/data/images/scan';
import { LISTING_FORMAT, hashedPageKey, listingHeaderSchema, listingId, listingKeyOf, listingPageKey, listingPageSchema, pagesOf, type ListingHeader } from '../lib/data/images/listing';
import { ImageIngestError, MAX_FILE_BYTES, RAW_PREFIX, asUnreadableError } from '../lib/data/images/plan';
import { sha256File } from '../lib/store/store';

/** Files of a page read at once: a few per core keeps the disk and S3 busy. */
const PAGE_CONCURRENCY = 8;

export async function listImageFilesCore(env: IngestEnv, input: ImageIngestOptions): Promise<ListingResult> {
  const started = Date.now();
  const isFolder = await fs.promises.stat(input.data).then((s) => s.isDirectory(), () => false);
  if (!isFolder) return { pages: 0, files: 0, seconds: (Date.now() - started) / 1000 };
  env.heartbeat({ message: 'listing files' });
  const listing = await listImageFolder(input.data).catch((err: NodeJS.ErrnoException) => {
    throw asUnreadableError(input.data, err);
  });
  const id = listingId(listing);
  const pages = pagesOf(listing.files);
  const writes = pLimit(PAGE_CONCURRENCY);
  await Promise.all(pages.map((files, page) => writes(() => env.store.putJson(listingPageKey(id, page), { files }))));
  const header: ListingHeader = {
    format: LISTING_FORMAT,
    id,
    data: input.data,
    root: listing.root,
    layout: listing.layout,
    classNames: listing.classNames,
    skipped: listing.skipped,
    files: listing.files.length,
    pages: pages.length,
  };
  // The header is written last: it exists only once every page it counts does.
  await env.store.putJson(listingKeyOf(id), header);
  return { listingKey: listingKeyOf(id), pages: pages.length, files: listing.files.length, seconds: (Date.now() - started) / 1000 };
}

export async function hashImagePageCore(env: IngestEnv, input: { listingKey: string; page: number }): Promise<HashedPage> {
  const started = Date.now();
  const { store } = env;
  const header = await store.getJson(input.listingKey, listingHeaderSchema);
  if (!Number.isInteger(input.page) || input.page < 0 || input.page >= header.pages) {
    throw new ImageIngestError(`listing ${input.listingKey} has pages 0..${header.pages - 1}, not ${input.page}`);
  }
  const { files } = await store.getJson(listingPageKey(header.id, input.page), listingPageSchema);
  const reads = pLimit(PAGE_CONCURRENCY);
  let done = 0;
  let bytes = 0;
  const hashes = await Promise.all(
    files.map((f) =>
      reads(async () => {
        const file = path.join(header.root, f.path);
        const size = (await fs.promises.stat(file)).size;
        // Too big to read whole: hashed as a stream, listed as skipped by the plan, never uploaded.
        const hash = size > MAX_FILE_BYTES ? await sha256File(file) : await store.putContent(RAW_PREFIX, await fs.promises.readFile(file));
        bytes += hash.size;
        env.heartbeat({ message: `page ${input.page}: hashing and uploading`, done: ++done, total: files.length });
        return { sha256: hash.sha256, bytes: hash.size };
      }),
    ),
  ).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new ImageIngestError(`image folder ${header.data}: ${err.path ?? 'a file'} was removed while it was being ingested; run again`);
    throw asUnreadableError(header.data, err);
  });
  await store.putJson(hashedPageKey(header.id, input.page), { hashes });
  return { page: input.page, files: files.length, bytes, seconds: (Date.now() - started) / 1000 };
}

export function listImagesActivities(deps: ActivityDeps) {
  return {
    listImageFiles: (input: ImageIngestOptions): Promise<ListingResult> => listImageFilesCore(ingestEnv(deps), input),
    hashImagePage: (input: { listingKey: string; page: number }): Promise<HashedPage> => hashImagePageCore(ingestEnv(deps), input),
  };
}
