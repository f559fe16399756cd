// An image folder on disk → labelled, split, hashed file list. Labels come from folder names:
// `class/*` (split here, stratified and seeded) or `{train,val,test}/class/*` (split as given).
// Nothing is decoded here: a file that is not an image is found out, and listed, when decoded.
import type { Split } from '../../../contracts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededPermutation } from '../dataset';
import { sha256File, sha256Hex } from '../../store/store';
import pLimit from 'p-limit';
import { BadInputError } from '../../errors';

export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface ScannedFile {
  /** Relative to the scanned root, `/`-separated. */
  path: string;
  split: Split;
  label: number;
  sha256: string;
  bytes: number;
}

export interface SameContent {
  sha256: string;
  paths: string[];
}

export interface ImageFolderScan {
  layout: 'class/*' | 'split/class/*';
  classNames: string[];
  files: ScannedFile[];
  /** Identical files (same SHA-256) under several paths. */
  duplicates: SameContent[];
  /** Identical files in more than one split: evaluation would see training images. */
  crossSplit: SameContent[];
  /** Files left out, and why (outside a class folder, links leaving the root, devices). */
  skipped: { path: string; reason: string }[];
}

export class ImageFolderError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFolderError';
  }
}

/** Labels are stored as uint8. */
const MAX_CLASSES = 256;
const HASH_CONCURRENCY = 8;
const SPLIT_FOLDER: Record<string, Split> = { train: 'train', val: 'val', validation: 'val', test: 'test' };

/** Dot files, and the `__MACOSX` resource-fork folders that zips made on a Mac carry. */
export function isHidden(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX';
}

/** Code-point order: the same on every machine and locale, unlike localeCompare. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A found file: its path under the root, its class, and its split when the folders name one. */
export interface ListedFile {
  path: string;
  split?: Split;
  label: number;
}

/** An image folder's files and labels, before any is read. */
export interface FolderListing {
  /** The folder's real path: where the files are read from. */
  root: string;
  layout: ImageFolderScan['layout'];
  classNames: string[];
  /** By path, in code-point order. */
  files: ListedFile[];
  skipped: ImageFolderScan['skipped'];
}

/** What hashing a file found: its content's SHA-256 and size. */
export interface FileHash {
  sha256: string;
  bytes: number;
}

export async function scanImageFolder(
  root: string,
  opts: { seed: number; validationFraction: number; onProgress?: (message: string) => void },
): Promise<ImageFolderScan> {
  const listing = await listImageFolder(root);
  let hashed = 0;
  const limit = pLimit(HASH_CONCURRENCY);
  const hashes = await Promise.all(
    listing.files.map((f) =>
      limit(async () => {
        const h = await sha256File(path.join(listing.root, f.path));
        if (++hashed % 200 === 0) opts.onProgress?.(`hashed ${hashed}/${listing.files.length} files`);
        return { sha256: h.sha256, bytes: h.size };
      }),
    ),
  );
  return labelFiles(listing, hashes, opts);
}

/** Walks an image folder: its layout, classes and files, every rule about folders checked; nothing is read. */
export async function listImageFolder(root: string): Promise<FolderListing> {
  const realRoot = await fs.promises.realpath(root).catch(() => {
    throw new ImageFolderError(`image folder ${root} does not exist`);
  });
  const skipped: ImageFolderScan['skipped'] = [];
  const top = await listDir(realRoot, '', skipped);
  for (const f of top.files) skipped.push({ path: f, reason: 'not inside a class folder' });

  // Which layout: split folders at the top, or class folders at the top.
  const splitDirs = top.dirs.filter((d) => SPLIT_FOLDER[d.toLowerCase()]);
  const groups: { split: Split | undefined; dir: string }[] = [];
  let layout: ImageFolderScan['layout'];
  if (splitDirs.length > 0) {
    layout = 'split/class/*';
    const others = top.dirs.filter((d) => !SPLIT_FOLDER[d.toLowerCase()]);
    if (others.length > 0) {
      throw new ImageFolderError(
        `${root} mixes split folders (${splitDirs.join(', ')}) with other folders (${others.join(', ')}): ` +
          'use either <class>/<images> or {train,val,test}/<class>/<images>',
      );
    }
    const seen = new Map<Split, string>();
    for (const dir of splitDirs) {
      const split = SPLIT_FOLDER[dir.toLowerCase()];
      if (seen.has(split)) throw new ImageFolderError(`${root} has both ${seen.get(split)}/ and ${dir}/: keep one of them`);
      seen.set(split, dir);
    }
    if (!seen.has('train')) throw new ImageFolderError(`${root} has ${splitDirs.join(', ')} folders but no train folder`);
    for (const [split, dir] of seen) {
      const inner = await listDir(realRoot, dir, skipped);
      for (const f of inner.files) skipped.push({ path: f, reason: 'not inside a class folder' });
      if (inner.dirs.length === 0) throw new ImageFolderError(`${path.join(root, dir)} has no class folders`);
      for (const cls of inner.dirs) groups.push({ split, dir: `${dir}/${cls}` });
    }
  } else {
    layout = 'class/*';
    for (const cls of top.dirs) groups.push({ split: undefined, dir: cls });
  }

  const classNames = [...new Set(groups.map((g) => path.posix.basename(g.dir)))].sort(byCodePoint);
  if (classNames.length === 0) {
    throw new ImageFolderError(`${root} has no class folders: expected <class>/<images> or {train,val,test}/<class>/<images>`);
  }
  if (classNames.length === 1) {
    throw new ImageFolderError(`${root} has a single class (${classNames[0]}): a classifier needs at least two class folders`);
  }
  if (classNames.length > MAX_CLASSES) throw new ImageFolderError(`${root} has ${classNames.length} classes; at most ${MAX_CLASSES} are supported`);

  // Collect every file of every class folder (nested folders belong to their class).
  const found: ListedFile[] = [];
  for (const g of groups) {
    const files = await walk(realRoot, g.dir, skipped);
    if (files.length === 0) throw new ImageFolderError(`class folder ${path.join(root, g.dir)} is empty`);
    const label = classNames.indexOf(path.posix.basename(g.dir));
    for (const f of files) found.push(g.split ? { path: f, split: g.split, label } : { path: f, label });
  }
  if (layout === 'split/class/*') {
    const trained = new Set(found.filter((f) => f.split === 'train').map((f) => f.label));
    const untrained = classNames.filter((_, i) => !trained.has(i));
    if (untrained.length > 0) throw new ImageFolderError(`${root}: class ${untrained.join(', ')} has no train folder, so it could never be learned`);
  }
  found.sort((a, b) => byCodePoint(a.path, b.path));
  return { root: realRoot, layout, classNames, files: found, skipped };
}

/**
 * The listed files with their hashes (in listing order) → the labelled, split scan: the seeded
 * validation split for `class/*`, and which files are the same content.
 */
export function labelFiles(listing: FolderListing, hashes: FileHash[], opts: { seed: number; validationFraction: number }): ImageFolderScan {
  if (!(opts.validationFraction >= 0 && opts.validationFraction < 1)) {
    throw new ImageFolderError(`validationFraction must be at least 0 and below 1, got ${opts.validationFraction}`);
  }
  if (hashes.length !== listing.files.length) throw new Error(`labelFiles: ${hashes.length} hashes for ${listing.files.length} files`);
  const { layout, classNames } = listing;
  const skipped = [...listing.skipped];
  const files: ScannedFile[] = listing.files.map((f, i) => ({
    path: f.path,
    split: f.split ?? 'train',
    label: f.label,
    sha256: hashes[i].sha256,
    bytes: hashes[i].bytes,
  }));
  if (layout === 'class/*') assignValidation(files, classNames, opts);

  const bySha = new Map<string, ScannedFile[]>();
  for (const f of files) bySha.set(f.sha256, [...(bySha.get(f.sha256) ?? []), f]);
  const same = [...bySha.entries()].filter(([, fs]) => fs.length > 1);
  const duplicates = same.map(([sha256, fs]) => ({ sha256, paths: fs.map((f) => f.path) }));
  const crossSplit = same.filter(([, fs]) => new Set(fs.map((f) => f.split)).size > 1).map(([sha256, fs]) => ({ sha256, paths: fs.map((f) => f.path) }));
  skipped.sort((a, b) => byCodePoint(a.path, b.path));
  return { layout, classNames, files, duplicates, crossSplit, skipped };
}

/**
 * Stratified, seeded train/val split, per class. Identical files are one unit, so a copy of a
 * training image never lands in val. Each class gets its own stream of random numbers (seeded by
 * seed + class name), so adding a class does not reshuffle the others.
 */
function assignValidation(files: ScannedFile[], classNames: string[], opts: { seed: number; validationFraction: number }): void {
  classNames.forEach((name, label) => {
    const units = new Map<string, ScannedFile[]>(); // insertion order = sorted path order
    for (const f of files) if (f.label === label) units.set(f.sha256, [...(units.get(f.sha256) ?? []), f]);
    const list = [...units.values()];
    const n = list.length;
    const nVal = opts.validationFraction > 0 && n >= 2 ? Math.min(n - 1, Math.max(1, Math.round(n * opts.validationFraction))) : 0;
    const classSeed = parseInt(sha256Hex(`${opts.seed}:${name}`).slice(0, 8), 16);
    const perm = seededPermutation(n, classSeed);
    for (let i = 0; i < nVal; i++) for (const f of list[perm[i]]) f.split = 'val';
  });
}

/** One directory level: visible subfolders and files, by code point; anything else is set aside. */
async function listDir(realRoot: string, rel: string, skipped: ImageFolderScan['skipped']): Promise<{ dirs: string[]; files: string[] }> {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of await fs.promises.readdir(path.join(realRoot, rel), { withFileTypes: true })) {
    if (isHidden(e.name)) continue;
    const relPath = rel ? `${rel}/${e.name}` : e.name;
    const kind = await entryKind(realRoot, relPath, e);
    if (kind === 'dir') dirs.push(e.name);
    else if (kind === 'file') files.push(relPath);
    else skipped.push({ path: relPath, reason: kind.reason });
  }
  return { dirs: dirs.sort(byCodePoint), files: files.sort(byCodePoint) };
}

async function walk(realRoot: string, rel: string, skipped: ImageFolderScan['skipped']): Promise<string[]> {
  const { dirs, files } = await listDir(realRoot, rel, skipped);
  for (const d of dirs) for (const f of await walk(realRoot, `${rel}/${d}`, skipped)) files.push(f);
  return files;
}

/**
 * Symbolic links are followed only to files inside the root: a link out of it could pull in any
 * file on the worker (a link to /etc/shadow would be uploaded to S3). Linked folders are never
 * followed, which also rules out cycles.
 */
async function entryKind(realRoot: string, rel: string, e: fs.Dirent): Promise<'dir' | 'file' | { reason: string }> {
  if (e.isDirectory()) return 'dir';
  if (e.isFile()) return 'file';
  if (!e.isSymbolicLink()) return { reason: 'not a regular file' };
  const target = await fs.promises.realpath(path.join(realRoot, rel)).catch(() => undefined);
  if (!target) return { reason: 'broken symbolic link' };
  if (target !== realRoot && !target.startsWith(realRoot + path.sep)) {
    return { reason: `symbolic link to ${target}, outside the image folder (not followed)` };
  }
  const stat = await fs.promises.stat(target);
  if (stat.isFile()) return 'file';
  return { reason: stat.isDirectory() ? 'symbolic link to a folder (not followed)' : 'not a regular file' };
}
