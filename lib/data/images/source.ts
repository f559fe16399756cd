// Where an image folder comes from: a local directory, an s3:// prefix, or a .zip / .tar.gz
// archive. Each is turned into a local directory to scan. Archives and S3 keys are untrusted:
// an entry that would land outside the extraction folder, or a link, refuses the whole source.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import * as yauzl from 'yauzl';
import type { ArtifactStore } from '../../store/store';
import pLimit from 'p-limit';
import { isHidden } from './scan';
import { BadInputError } from '../../errors';

export class ImageSourceError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'ImageSourceError';
  }
}

export interface MaterializedSource {
  /** The directory to scan. */
  root: string;
  kind: 'dir' | 's3' | 'archive';
  /** The source, normalised (absolute path or s3:// URL), for manifests and messages. */
  location: string;
  /** Removes what was downloaded or extracted; a local directory is left alone. */
  cleanup(): Promise<void>;
}

export interface MaterializeOptions {
  /** Refuse sources that would put more than this many bytes on disk. Default 8 GiB. */
  maxBytes?: number;
  /** Called now and then during long downloads and extractions (activities heartbeat here). */
  onProgress?: (message: string) => void;
}

export const DEFAULT_MAX_SOURCE_BYTES = 8 * 1024 ** 3;
const DOWNLOAD_CONCURRENCY = 8;
const ARCHIVE = /\.(zip|tar\.gz|tgz|tar)$/i;

export async function materializeImageSource(
  spec: string,
  store: ArtifactStore,
  workDir: string,
  opts: MaterializeOptions = {},
): Promise<MaterializedSource> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_SOURCE_BYTES;
  const progress = opts.onProgress ?? (() => {});
  if (spec.startsWith('s3://')) return fromS3(spec, store, workDir, maxBytes, progress);

  const location = path.resolve(spec);
  const stat = await fs.promises.stat(location).catch(() => undefined);
  if (!stat) throw new ImageSourceError(`image source ${spec}: no such file or directory`);
  if (stat.isDirectory()) return { root: location, kind: 'dir', location, cleanup: async () => {} };
  if (!stat.isFile() || !ARCHIVE.test(location)) {
    throw new ImageSourceError(`image source ${spec}: expected a directory, a .zip, .tar.gz or .tgz archive, or s3://bucket/prefix`);
  }
  const dest = await scratchDir(workDir);
  try {
    progress(`extracting ${path.basename(location)}`);
    if (/\.zip$/i.test(location)) await extractZip(location, dest, maxBytes);
    else await extractTar(location, dest, maxBytes);
    return { root: await soleFolder(dest), kind: 'archive', location, cleanup: () => removeDir(dest) };
  } catch (err) {
    await removeDir(dest);
    throw err;
  }
}

async function scratchDir(workDir: string): Promise<string> {
  await fs.promises.mkdir(workDir, { recursive: true });
  return fs.promises.mkdtemp(path.join(workDir, 'images-'));
}

function removeDir(dir: string): Promise<void> {
  return fs.promises.rm(dir, { recursive: true, force: true });
}

/** Why an entry name is unsafe to extract, or undefined when it stays inside the folder. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.includes('\0')) return 'a NUL character in its name';
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) return 'an absolute path';
  if (n.split('/').includes('..')) return 'a ".." component, which would leave the extraction folder';
  return undefined;
}

function refuse(archive: string, entry: string, why: string): ImageSourceError {
  return new ImageSourceError(`archive ${archive}: refused entry ${JSON.stringify(entry)}: ${why}`);
}

function tooBig(what: string, maxBytes: number): ImageSourceError {
  return new ImageSourceError(`${what}: more than ${maxBytes.toLocaleString('en-US')} bytes when unpacked (the limit)`);
}

/**
 * Two passes: list and check every header first (names, types, total size), then extract.
 * Checking first means a bad entry anywhere refuses the archive before anything is written, and
 * the size sum of the headers is exactly what extraction writes (tar stores files uncompressed).
 */
async function extractTar(file: string, dest: string, maxBytes: number): Promise<void> {
  const problems: ImageSourceError[] = [];
  let total = 0;
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const why = unsafeEntryName(entry.path);
        if (why) problems.push(refuse(file, entry.path, `it has ${why}`));
        else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          problems.push(refuse(file, entry.path, `links are not extracted (it points to ${JSON.stringify(entry.linkpath)})`));
        } else if (TAR_DEVICES.has(entry.type)) problems.push(refuse(file, entry.path, 'it is a device or pipe, not a file'));
        total += TAR_EXTRACTED.has(entry.type) ? entry.size : 0;
        entry.resume();
      },
    });
  } catch (err) {
    throw new ImageSourceError(`archive ${file}: cannot be read as a tar archive (${(err as Error).message})`);
  }
  if (problems.length > 0) throw problems[0];
  if (total > maxBytes) throw tooBig(`archive ${file}`, maxBytes);
  await tar.x({
    file,
    cwd: dest,
    strict: true,
    preserveOwner: false, // as root, tar would otherwise chown to the archive's uids
    filter: (_p, entry) => 'type' in entry && TAR_EXTRACTED.has(entry.type),
  });
}

const TAR_EXTRACTED = new Set<string>(['File', 'OldFile', 'ContiguousFile', 'Directory']);
const TAR_DEVICES = new Set<string>(['CharacterDevice', 'BlockDevice', 'FIFO']);

/**
 * The central directory is read first and every entry checked; only then is data read. yauzl
 * checks each entry's inflated size against its header, so a zip bomb cannot lie its way past
 * the total.
 */
async function extractZip(file: string, dest: string, maxBytes: number): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z!))),
  ).catch((err: Error) => {
    throw new ImageSourceError(`archive ${file}: cannot be read as a zip archive (${err.message})`);
  });
  try {
    const entries = await new Promise<yauzl.Entry[]>((resolve, reject) => {
      const list: yauzl.Entry[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        list.push(e);
        zip.readEntry();
      });
      zip.on('end', () => resolve(list));
      zip.on('error', (err: Error) => {
        // yauzl itself refuses absolute and `..` names ("invalid relative path: ../evil").
        const m = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/.exec(err.message);
        reject(m ? refuse(file, m[2], m[1]) : new ImageSourceError(`archive ${file}: cannot be read as a zip archive (${err.message})`));
      });
      zip.readEntry();
    });
    let total = 0;
    for (const e of entries) {
      const why = unsafeEntryName(e.fileName);
      if (why) throw refuse(file, e.fileName, `it has ${why}`);
      const type = (e.externalFileAttributes >>> 16) & 0o170000;
      if (type === 0o120000) throw refuse(file, e.fileName, 'symbolic links are not extracted');
      if (type !== 0 && type !== 0o100000 && type !== 0o040000) throw refuse(file, e.fileName, 'it is not a file or folder');
      total += e.uncompressedSize;
    }
    if (total > maxBytes) throw tooBig(`archive ${file}`, maxBytes);
    for (const e of entries) {
      const target = path.join(dest, e.fileName);
      if (e.fileName.endsWith('/')) {
        await fs.promises.mkdir(target, { recursive: true });
        continue;
      }
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(e, (err, s) => (err ? reject(err) : resolve(s!))));
      await pipeline(stream, fs.createWriteStream(target)).catch((err: Error) => {
        throw new ImageSourceError(`archive ${file}: entry ${JSON.stringify(e.fileName)} cannot be extracted (${err.message})`);
      });
    }
  } finally {
    zip.close();
  }
}

/**
 * Archives are usually made of one folder (`zip -r flowers.zip flowers/`): scan inside it. Not when
 * that folder is a split (`train/`), which would turn a split layout into a class layout.
 */
async function soleFolder(dir: string): Promise<string> {
  const visible = (await fs.promises.readdir(dir, { withFileTypes: true })).filter((e) => !isHidden(e.name));
  if (visible.length === 1 && visible[0].isDirectory() && !/^(train|val|validation|test)$/i.test(visible[0].name)) {
    return path.join(dir, visible[0].name);
  }
  return dir;
}

/** Downloads every object under the prefix. Objects uploaded by other tools carry no tl hash, so none is required. */
async function fromS3(spec: string, store: ArtifactStore, workDir: string, maxBytes: number, progress: (m: string) => void): Promise<MaterializedSource> {
  const rest = spec.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (bucket !== store.bucket) {
    throw new ImageSourceError(`image source ${spec}: bucket ${JSON.stringify(bucket)} is not the configured bucket ${JSON.stringify(store.bucket)}`);
  }
  if (!prefix) throw new ImageSourceError(`image source ${spec}: name a prefix (s3://${bucket}/<prefix>), not the whole bucket`);

  const objects: { key: string; rel: string; size: number }[] = [];
  let token: string | undefined;
  let total = 0;
  do {
    const out = await store.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of out.Contents ?? []) {
      const rel = o.Key!.slice(prefix.length + 1);
      if (rel === '' || rel.endsWith('/')) continue; // "folder" marker objects
      const why = unsafeEntryName(rel) ?? (rel.split('/').some((s) => s === '' || s === '.') ? 'an empty or "." path component' : undefined);
      if (why) throw new ImageSourceError(`image source ${spec}: refused object ${JSON.stringify(o.Key)}: it has ${why}`);
      total += Number(o.Size ?? 0);
      if (total > maxBytes) throw tooBig(`image source ${spec}`, maxBytes);
      objects.push({ key: o.Key!, rel, size: Number(o.Size ?? 0) });
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  if (objects.length === 0) throw new ImageSourceError(`image source ${spec}: no objects under ${prefix}/`);

  const dest = await scratchDir(workDir);
  try {
    let done = 0;
    const limit = pLimit(DOWNLOAD_CONCURRENCY);
    await Promise.all(
      objects.map((o) =>
        limit(async () => {
          const target = path.join(dest, o.rel);
          await fs.promises.mkdir(path.dirname(target), { recursive: true });
          const out = await store.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
          await pipeline(out.Body as Readable, fs.createWriteStream(target));
          if (++done % 100 === 0) progress(`downloaded ${done}/${objects.length} objects`);
        }),
      ),
    );
    return { root: dest, kind: 's3', location: `s3://${bucket}/${prefix}`, cleanup: () => removeDir(dest) };
  } catch (err) {
    await removeDir(dest);
    throw err;
  }
}
