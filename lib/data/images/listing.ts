// A local image folder's listing, stored in pages so that hashing and uploading the files can
// fan out over activities (any worker that sees the folder's path): the listing step walks the
// folder and writes pages of paths; each page's step hashes and uploads its files and writes
// their hashes beside it; the plan step reads both back. Pure code: keys, formats, schemas.
import { z } from 'zod';
import { sha256Hex } from '../../store/store';
import { PREFIX, splitSchema } from './plan';
import type { FileHash, FolderListing, ListedFile } from './scan';

export const LISTING_FORMAT = 'tl.image-listing/v1';
/** Files per page: a page's hashes are one small object, and a million files make 1,000 pages. */
export const FILES_PER_PAGE = 1000;

/** What the listing step stores last, once its pages are written. */
export interface ListingHeader {
  format: typeof LISTING_FORMAT;
  id: string;
  data: string;
  root: string;
  layout: FolderListing['layout'];
  classNames: string[];
  skipped: FolderListing['skipped'];
  files: number;
  pages: number;
}

export const listingKeyOf = (id: string) => `${PREFIX}/listings/${id}.json`;
export const listingPageKey = (id: string, page: number) => `${PREFIX}/listings/${id}/files-${page}.json`;
export const hashedPageKey = (id: string, page: number) => `${PREFIX}/listings/${id}/hashes-${page}.json`;

/** The same folder state lists to the same id, so a retried listing rewrites the same keys. */
export function listingId(listing: FolderListing): string {
  return sha256Hex(JSON.stringify([listing.root, listing.layout, listing.classNames, listing.files, listing.skipped]));
}

export function pagesOf(files: ListedFile[]): ListedFile[][] {
  const pages: ListedFile[][] = [];
  for (let start = 0; start < files.length; start += FILES_PER_PAGE) pages.push(files.slice(start, start + FILES_PER_PAGE));
  return pages;
}

const skippedSchema = z.array(z.object({ path: z.string(), reason: z.string() }));

export const listingHeaderSchema: z.ZodType<ListingHeader> = z
  .object({
    format: z.literal(LISTING_FORMAT),
    id: z.string(),
    data: z.string(),
    root: z.string(),
    layout: z.enum(['class/*', 'split/class/*']),
    classNames: z.array(z.string()),
    skipped: skippedSchema,
    files: z.number().int().nonnegative(),
    pages: z.number().int().nonnegative(),
  })
  .describe(`image folder listing (${LISTING_FORMAT})`);

export const listingPageSchema: z.ZodType<{ files: ListedFile[] }> = z
  .object({ files: z.array(z.object({ path: z.string(), split: splitSchema.optional(), label: z.number().int().nonnegative() })) })
  .describe('image folder listing page');

export const hashedPageSchema: z.ZodType<{ hashes: FileHash[] }> = z
  .object({ hashes: z.array(z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })) })
  .describe('image folder page hashes');
