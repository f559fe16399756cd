// Image-folder ingestion against the real local MinIO: plan → shards (in parallel) → finalize,
// called as plain functions (Temporal's Context exists only inside a worker). Sources: the
// hymenoptera folder in shared/, a synthetic folder with bad files, archives, an s3:// prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { randomBytes, randomInt } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import * as tar from 'tar';
import { REPO_ROOT, testConfig, testEnv, testStore } from './harness';
import { planSchema, rawKeyOf, shardResultKey } from '../../lib/data/images/plan';
import { hashImagePageCore, listImageFilesCore } from '../../activities/list-images';
import { planImageDatasetCore, ingestImageShardCore, finalizeImageDatasetCore, type IngestEnv } from '../../activities/ingest-images';
import { type ImageIngestOptions } from '../../contracts';
import { loadManifest, loadSplit } from '../../lib/data/dataset';
import { imageToTensorBytes } from '../../lib/data/images/decode';
import { materializeImageSource, ImageSourceError } from '../../lib/data/images/source';
import { tempDir } from '../temp-dirs';

const HYMENOPTERA = path.resolve(REPO_ROOT, '../shared/data/datasets/hymenoptera_data');
const config = testConfig(testEnv());
const store = testStore(config);const workDir = tempDir('tl-ingest-work-');
const env: IngestEnv = { store, config: { ...config, workDir }, heartbeat: () => {} };
// maxPixels is part of a dataset's identity: a per-run value makes this run do the work instead
// of finding the dataset a previous run stored (the shards and manifest still dedupe by content).
const MAX_PIXELS = 50_000_000 + randomInt(1_000_000);

const options = (o: Partial<ImageIngestOptions> & { data: string }): ImageIngestOptions => ({
  imageSize: [224, 224],
  colorMode: 'rgb',
  resize: 'cover',
  seed: 42,
  validationFraction: 0.25,
  shardSize: 64,
  maxPixels: MAX_PIXELS,
  ...o,
});

/** What the workflow does: plan, every shard at once, finalize. */
async function ingest(o: ImageIngestOptions) {
  const t0 = Date.now();
  const plan = await planImageDatasetCore(env, o);
  const t1 = Date.now();
  if (plan.cached) return { plan, timings: { plan: (t1 - t0) / 1000, shards: 0 } };
  const shards = await Promise.all(Array.from({ length: plan.shards }, (_, shardIndex) => ingestImageShardCore(env, { planKey: plan.planKey, shardIndex })));
  const t2 = Date.now();
  const result = await finalizeImageDatasetCore(env, { planKey: plan.planKey });
  return { plan, shards, result, timings: { plan: (t1 - t0) / 1000, shards: (t2 - t1) / 1000 } };
}

function assertWorkDirClean(): void {
  assert.deepEqual(fs.readdirSync(workDir), [], 'downloads and extractions are removed');
}

test('hymenoptera: 244 train / 153 val JPEGs at 224×224 RGB, then a cache hit', { timeout: 600_000, skip: fs.existsSync(HYMENOPTERA) ? false : `needs ${HYMENOPTERA} (the ../shared/data checkout)` }, async (t) => {
  const run = await ingest(options({ data: HYMENOPTERA }));
  assert.equal(run.plan.cached, false, run.plan.cacheReason);
  assert.equal(run.plan.files, 397);
  const result = run.result!;
  assert.deepEqual(result.counts, { train: 244, val: 153 });
  assert.deepEqual(result.classNames, ['ants', 'bees']);
  assert.equal(result.quality.rejected, 2); // PROVENANCE.md and SHA256SUMS sit beside the split folders
  const images = 397;
  t.diagnostic(
    `hymenoptera 224×224 RGB: plan (scan + hash + upload) ${run.timings.plan.toFixed(2)} s; ` +
      `shards (S3 read + decode + resize + write) ${run.timings.shards.toFixed(2)} s = ${(images / run.timings.shards).toFixed(0)} images/s ` +
      `on ${os.availableParallelism()} cores`,
  );

  const manifest = await loadManifest(store, result.manifestKey);
  assert.deepEqual(manifest.imageShape, [224, 224, 3]);
  assert.deepEqual(manifest.splits.train.classCounts, [123, 121]);
  assert.deepEqual(manifest.splits.val.classCounts, [70, 83]);
  assert.deepEqual(manifest.preprocessing, { size: [224, 224], colorMode: 'rgb', resize: 'cover' });
  assert.deepEqual(manifest.quality!.rejected.map((r) => r.path), ['PROVENANCE.md', 'SHA256SUMS']);
  assert.deepEqual(manifest.quality!.crossSplit, []);
  // Every file is recorded with the hash the dataset publishes.
  const published = new Map(
    fs.readFileSync(path.join(HYMENOPTERA, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)] as [string, string]),
  );
  assert.equal(manifest.source.files.length, published.size);
  for (const f of manifest.source.files) assert.equal(f.sha256, published.get(f.name), f.name);
  const paths = Object.values(manifest.splits).flatMap((s) => s.shards.flatMap((sh) => sh.paths!));
  assert.ok(paths.includes('train/ants/ant photos.jpg') && paths.includes('val/ants/F.pergan.28(f).jpg') && paths.includes('train/ants/formica.jpeg'));
  assert.ok(Object.values(manifest.splits).every((s) => s.shards.every((sh) => sh.count <= 64)));

  // The stored pixels are what decoding the file gives, at the position its path says.
  const val = await loadSplit(store, manifest, 'val');
  assert.equal(val.images.length, 153 * 224 * 224 * 3);
  const valPaths = manifest.splits.val.shards.flatMap((s) => s.paths!);
  const k = valPaths.indexOf('val/ants/F.pergan.28(f).jpg');
  const expected = await imageToTensorBytes(fs.readFileSync(path.join(HYMENOPTERA, valPaths[k])), { size: [224, 224], colorMode: 'rgb', resize: 'cover', maxPixels: MAX_PIXELS });
  assert.deepEqual(Buffer.from(val.images.subarray(k * expected.length, (k + 1) * expected.length)), Buffer.from(expected));
  assert.equal(val.labels[k], 0);

  // Same files, labels, split and preprocessing: the plan finds the dataset and does nothing else.
  const again = await planImageDatasetCore(env, options({ data: HYMENOPTERA, shardSize: 100 }));
  assert.equal(again.cached, true);
  assert.equal(again.manifestKey, result.manifestKey);
  assert.equal(again.cacheReason, `same files, labels, split and preprocessing as dataset ${result.datasetSha256}`);
  assert.equal(again.planKey, run.plan.planKey);
  // Another size is another dataset.
  const grey = await planImageDatasetCore(env, options({ data: HYMENOPTERA, colorMode: 'grayscale' }));
  assert.equal(grey.cached, false);
  assertWorkDirClean();
});

/** Two classes of small distinct images (PNG and JPEG), made with sharp. */
async function smallFolder(root: string, perClass = 4): Promise<void> {
  for (const [c, cls] of ['circles', 'squares'].entries()) {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const img = sharp({ create: { width: 20 + i, height: 30, channels: 3, background: { r: 40 * i, g: 100 * c, b: 200 } } });
      const file = path.join(root, cls, i % 2 ? `img ${i}.png` : `img-${i}.jpg`);
      fs.writeFileSync(file, await (i % 2 ? img.png() : img.jpeg()).toBuffer());
    }
  }
}

test('bad files are listed as rejected with a reason; the rest is ingested', { timeout: 120_000 }, async () => {
  const root = tempDir('tl-bad-images-');
  await smallFolder(root, 6);
  const noise = Buffer.alloc(200 * 150 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 256;
  const jpeg = await sharp(noise, { raw: { width: 200, height: 150, channels: 3 } }).jpeg().toBuffer();
  const corrupt = Buffer.from(jpeg);
  for (let i = 1500; i < 4000; i++) corrupt[i] = (i * 31) & 0xff;
  fs.writeFileSync(path.join(root, 'circles', 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  fs.writeFileSync(path.join(root, 'circles', 'corrupt.jpg'), corrupt);
  fs.writeFileSync(path.join(root, 'squares', 'empty.png'), '');
  fs.writeFileSync(path.join(root, 'squares', 'notes.txt'), 'collected on a sunny day\n');
  fs.copyFileSync(path.join(root, 'circles', 'img-0.jpg'), path.join(root, 'circles', 'copy.jpg'));

  const run = await ingest(options({ data: root, imageSize: [16, 16], colorMode: 'grayscale', resize: 'contain', shardSize: 5 }));
  const result = run.result!;
  assert.equal(run.plan.files, 17);
  assert.equal(result.counts.train + result.counts.val, 13); // 12 made + the copy
  const manifest = await loadManifest(store, result.manifestKey);
  assert.deepEqual(manifest.imageShape, [16, 16, 1]);
  assert.deepEqual(manifest.quality!.rejected, [
    { path: 'circles/corrupt.jpg', reason: 'truncated or corrupt image data' },
    { path: 'circles/truncated.jpg', reason: 'truncated or corrupt image data' },
    { path: 'squares/empty.png', reason: 'empty file' },
    { path: 'squares/notes.txt', reason: 'not an image' },
  ]);
  assert.deepEqual(manifest.quality!.duplicates.map((d) => d.paths), [['circles/copy.jpg', 'circles/img-0.jpg']]);
  assert.deepEqual(result.quality, { rejected: 4, duplicates: 1, crossSplit: 0 });
  const total = (split: string) => manifest.splits[split].classCounts.reduce((a, b) => a + b, 0);
  assert.equal(total('train') + total('val'), 13);
  assert.equal(manifest.splits.train.count, total('train'));

  // Finalize checks what it reads: a missing shard result is an error, not a smaller dataset.
  const shard0 = shardResultKey(run.plan.planKey, 0);
  const stored = await store.getBytes(shard0);
  await store.delete(shard0);
  await assert.rejects(finalizeImageDatasetCore(env, { planKey: run.plan.planKey }), /no result for shard\(s\) 0/);
  await store.putBytes(shard0, stored);
  // Retrying finalize (as Temporal would) gives the same manifest.
  const retried = await finalizeImageDatasetCore(env, { planKey: run.plan.planKey });
  assert.equal(retried.manifestKey, result.manifestKey);
  assertWorkDirClean();
});

test('a local folder listed in pages and hashed page by page plans the same dataset as one scan', { timeout: 120_000 }, async () => {
  const root = tempDir('tl-listed-');
  await smallFolder(root, 6);
  fs.writeFileSync(path.join(root, 'stray.txt'), 'not in a class folder');
  const o = options({ data: root, imageSize: [24, 24], maxPixels: MAX_PIXELS + 2 });
  const listing = await listImageFilesCore(env, o);
  assert.equal(listing.files, 12);
  assert.equal(listing.pages, 1);
  assert.ok(listing.listingKey);
  // A retried listing writes the same keys.
  assert.equal((await listImageFilesCore(env, o)).listingKey, listing.listingKey);
  await assert.rejects(hashImagePageCore(env, { listingKey: listing.listingKey, page: 1 }), /has pages 0\.\.0, not 1/);
  const page = await hashImagePageCore(env, { listingKey: listing.listingKey, page: 0 });
  assert.equal(page.files, 12);
  assert.ok(page.bytes > 0);
  const listed = await planImageDatasetCore(env, { ...o, listingKey: listing.listingKey });
  assert.equal(listed.cached, false);
  const plan = await store.getJson(listed.planKey, planSchema);
  assert.deepEqual(plan.skipped, [{ path: 'stray.txt', reason: 'not inside a class folder' }]);
  for (const f of plan.files) assert.ok(await store.head(rawKeyOf(f.sha256)), `${f.path} uploaded by its page`);
  // The one-activity scan of the same folder finds the same dataset identity and plan.
  const scanned = await planImageDatasetCore(env, o);
  assert.equal(scanned.datasetKey, listed.datasetKey);
  assert.equal(scanned.planKey, listed.planKey);
  // A listing is of one source: another is refused by name.
  await assert.rejects(planImageDatasetCore(env, { ...o, data: `${root}-other`, listingKey: listing.listingKey }), /is of .* not of/);
  // Not a local folder: the listing step leaves it to the plan.
  assert.deepEqual((await listImageFilesCore(env, options({ data: 's3://bucket/prefix' }))).pages, 0);
});

test('a .tar.gz and a .zip of the same folder are the same dataset; an s3:// prefix works too', { timeout: 120_000 }, async () => {
  const dir = tempDir('tl-archive-src-');
  await smallFolder(path.join(dir, 'shapes'));
  const tgz = path.join(dir, 'shapes.tar.gz');
  await tar.c({ gzip: true, file: tgz, cwd: dir }, ['shapes']);
  const zip = path.join(dir, 'shapes.zip');
  fs.writeFileSync(zip, zipOf(folderEntries(dir, 'shapes')));
  const o = { imageSize: [32, 32] as [number, number], maxPixels: MAX_PIXELS + 1 };

  const fromTar = await ingest(options({ data: tgz, ...o }));
  assert.equal(fromTar.plan.cached, false);
  assert.deepEqual(fromTar.result!.classNames, ['circles', 'squares']);
  assert.equal(fromTar.result!.counts.train + fromTar.result!.counts.val, 8);
  const manifest = await loadManifest(store, fromTar.result!.manifestKey);
  assert.equal(manifest.name, 'shapes');
  assert.equal(manifest.source.kind, 'archive');
  assert.ok(manifest.splits.train.shards[0].paths!.every((p) => /^(circles|squares)\//.test(p)), 'scanned inside the single top folder');

  const fromZip = await ingest(options({ data: zip, ...o }));
  assert.equal(fromZip.plan.cached, true, 'same files, labels and split');
  assert.equal(fromZip.plan.manifestKey, fromTar.result!.manifestKey);

  // The same folder uploaded by another tool (no tl hash metadata) under an s3:// prefix.
  const prefix = `test/images-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  for (const e of folderEntries(dir, 'shapes')) {
    if (e.data) await store.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: `${prefix}/${e.name.slice('shapes/'.length)}`, Body: e.data }));
  }
  const fromS3 = await planImageDatasetCore(env, options({ data: `s3://${store.bucket}/${prefix}`, ...o }));
  assert.equal(fromS3.cached, true);
  assert.equal(fromS3.manifestKey, fromTar.result!.manifestKey);
  await assert.rejects(planImageDatasetCore(env, options({ data: `s3://other-bucket/${prefix}` })), (err: Error) => {
    assert.ok(err instanceof ImageSourceError);
    assert.match(err.message, /bucket "other-bucket" is not the configured bucket/);
    return true;
  });
  await assert.rejects(planImageDatasetCore(env, options({ data: `s3://${store.bucket}/${prefix}-nothing` })), /no objects under/);
  for (const key of await store.list(`${prefix}/`)) await store.delete(key);
  assertWorkDirClean();
});

test('archives with entries that escape, links, or too many bytes are refused, naming the entry', { timeout: 60_000 }, async () => {
  const dir = tempDir('tl-evil-');
  const refused = async (file: string, pattern: RegExp, maxBytes?: number) => {
    await assert.rejects(materializeImageSource(file, store, workDir, { maxBytes }), (err: Error) => {
      assert.ok(err instanceof ImageSourceError, String(err));
      assert.match(err.message, pattern);
      assert.ok(err.message.includes(file), 'names the archive');
      return true;
    });
    assert.equal(fs.existsSync(path.join(workDir, 'evil')), false, 'nothing written outside the extraction folder');
    assert.equal(fs.existsSync(path.join(dir, 'evil')), false);
    assertWorkDirClean();
  };
  const ok = { name: 'shapes/a/x.txt', data: Buffer.from('fine') };
  const evil = { name: '../evil', data: Buffer.from('pwned') };

  const evilTgz = path.join(dir, 'evil.tar.gz');
  fs.writeFileSync(evilTgz, zlib.gzipSync(tarOf([ok, evil])));
  await refused(evilTgz, /refused entry "\.\.\/evil": it has a "\.\." component/);
  const absTgz = path.join(dir, 'abs.tgz');
  fs.writeFileSync(absTgz, zlib.gzipSync(tarOf([ok, { name: '/tmp/evil', data: Buffer.from('x') }])));
  await refused(absTgz, /refused entry "\/tmp\/evil": it has an absolute path/);
  const linkTgz = path.join(dir, 'link.tgz');
  fs.writeFileSync(linkTgz, zlib.gzipSync(tarOf([ok, { name: 'shapes/a/passwd.jpg', link: '/etc/passwd' }])));
  await refused(linkTgz, /refused entry "shapes\/a\/passwd\.jpg": links are not extracted \(it points to "\/etc\/passwd"\)/);

  const evilZip = path.join(dir, 'evil.zip');
  fs.writeFileSync(evilZip, zipOf([ok, evil]));
  await refused(evilZip, /refused entry "\.\.\/evil": invalid relative path/);
  const linkZip = path.join(dir, 'link.zip');
  fs.writeFileSync(linkZip, zipOf([ok, { name: 'shapes/a/passwd.jpg', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]));
  await refused(linkZip, /refused entry "shapes\/a\/passwd\.jpg": symbolic links are not extracted/);

  const big = { name: 'shapes/a/big.bin', data: Buffer.alloc(100_000) };
  const bigZip = path.join(dir, 'big.zip');
  fs.writeFileSync(bigZip, zipOf([big]));
  await refused(bigZip, /more than 50,000 bytes when unpacked/, 50_000);
  const bigTgz = path.join(dir, 'big.tgz');
  fs.writeFileSync(bigTgz, zlib.gzipSync(tarOf([big])));
  await refused(bigTgz, /more than 50,000 bytes when unpacked/, 50_000);

  const notArchive = path.join(dir, 'garbage.tgz');
  fs.writeFileSync(notArchive, randomBytes(1000));
  await refused(notArchive, /cannot be read as a tar archive/);
  await assert.rejects(materializeImageSource(path.join(dir, 'missing'), store, workDir), /no such file or directory/);
});

// --- archive writers: byte by byte, so the tests can make entries real tools refuse to write ---

interface Entry {
  name: string;
  data?: Buffer;
  link?: string;
  mode?: number;
}

function folderEntries(base: string, rel: string): Entry[] {
  const out: Entry[] = [{ name: `${rel}/` }];
  for (const e of fs.readdirSync(path.join(base, rel), { withFileTypes: true })) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...folderEntries(base, r));
    else out.push({ name: r, data: fs.readFileSync(path.join(base, r)) });
  }
  return out;
}

/** A ustar archive: a 512-byte header per entry, data padded to 512, two zero blocks. */
function tarOf(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    const put = (value: string, offset: number, length: number) => h.write(value, offset, length, 'utf8');
    const octal = (n: number, offset: number, length: number) => put(n.toString(8).padStart(length - 1, '0'), offset, length - 1);
    put(e.name, 0, 100);
    octal(0o644, 100, 8);
    octal(0, 108, 8);
    octal(0, 116, 8);
    octal(data.length, 124, 12);
    octal(0, 136, 12);
    put(e.link ? '2' : e.name.endsWith('/') ? '5' : '0', 156, 1);
    if (e.link) put(e.link, 157, 100);
    put('ustar\u000000', 257, 8);
    put('        ', 148, 8);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** A zip with deflated entries; `mode` goes into the Unix attributes (0o120777 = a symlink). */
function zipOf(entries: Entry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.data ?? Buffer.alloc(0);
    const packed = zlib.deflateRawSync(data);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made on Unix
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(packed.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((e.mode ?? (e.name.endsWith('/') ? 0o040755 : 0o100644)) << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    central.push(cd, name);
    offset += local.length + name.length + packed.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBytes, end]);
}
