// Bad input, case by case: each is refused with one clear message naming the input and what is
// wrong; through the CLI that is a non-zero exit (2 usage/config, 1 a run that failed on a
// non-retryable activity error), and nothing already stored in S3 changes. Most cases call the
// lib functions the activities call; the ones marked "CLI" go through tl, Temporal and a worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import * as tar from 'tar';
import * as tf from '@tensorflow/tfjs';
import type { Client } from '@temporalio/client';
import { REPO_ROOT, runTl, startWorker, temporalClient, testStore, type WorkerProcess } from '../integration/harness';
import { tempDir } from '../temp-dirs';
import { configOf, diffSnapshots, faultEnv, snapshot } from './fault-stack';
import { encodeIdx, gunzipIdx, IdxFormatError, parseIdx, parseImageLabelPair } from '../../lib/data/idx';
import { FASHION_MNIST_FILES, SourceError } from '../../lib/data/fashion-mnist';
import { imageToTensorBytes, type DecodeOptions } from '../../lib/data/images/decode';
import { ImageFolderError, scanImageFolder } from '../../lib/data/images/scan';
import { ImageSourceError, materializeImageSource } from '../../lib/data/images/source';
import { loadBackbone } from '../../lib/models/backbone';
import { buildLabCnn } from '../../lib/models/lab-cnn';
import { s3ModelIO } from '../../lib/tf/s3-model-io';
import { artifactKey, IntegrityError, sha256Hex } from '../../lib/store/store';
import { loadConfig } from '../../lib/config';
import { parseStages } from '../../lib/models/fine-tune';
import { ModelFormatError } from '../../lib/tf/model-io';
import { BadInputError } from '../../lib/errors';
import { ImageIngestError } from '../../lib/data/images/plan';

/** The bad-input classes these cases expect, by the failure type they carry. */
const BAD_INPUT_TYPES: Record<string, new (...args: never[]) => Error> = { IdxFormatError, SourceError, ImageFolderError, ImageSourceError, ModelFormatError, ImageIngestError };
const isBadInputType = (type: string) => BAD_INPUT_TYPES[type]?.prototype instanceof BadInputError;

const env = faultEnv();
const config = configOf(env);
const store = testStore(config);
const stamp = Date.now().toString(36);
const workDir = tempDir('tl-faults-work-');
let worker: WorkerProcess;
let client: Client;

// ---- fixtures ------------------------------------------------------------------------------

const FIXTURES = `fixtures/faults-${stamp}`;
const BACKBONE = `${FIXTURES}/backbone/good`;
const s3Url = (prefix: string) => `s3://${store.bucket}/${prefix}`;

/** A copy of the Fashion-MNIST directory (links to the real files) with one file replaced. */
function fashionWith(file: string, bytes: Uint8Array): string {
  const dir = tempDir('tl-faults-idx-');
  for (const name of Object.values(FASHION_MNIST_FILES)) {
    if (name === file) fs.writeFileSync(path.join(dir, name), bytes);
    else fs.symlinkSync(path.join(config.fashionMnistDir, name), path.join(dir, name));
  }
  return dir;
}

const gunzipped = (file: string) => zlib.gunzipSync(fs.readFileSync(path.join(config.fashionMnistDir, file)));

/** A small grey PNG whose pixels depend on `n`, so files differ. */
const png = (n: number, channels: 1 | 3 = 1, size = 28) =>
  sharp(Buffer.alloc(size * size * channels, (n * 37) % 256), { raw: { width: size, height: size, channels } }).png().toBuffer();

/** Writes `files` (relative path → bytes) under a new folder. */
function folder(files: Record<string, Buffer | string>): string {
  const root = tempDir('tl-faults-images-');
  for (const [rel, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), bytes);
  }
  return root;
}

async function twoClasses(): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 4; i++) {
    files[`ants/${i}.png`] = await png(i);
    files[`bees/${i}.png`] = await png(i + 10);
  }
  return files;
}

/** A PNG whose header claims width × height; the pixel data is one small block. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const real = await png(1);
  const ihdrAt = 8; // signature, then the IHDR chunk: length, type, 13 bytes of data, CRC
  const out = Buffer.from(real);
  out.writeUInt32BE(width, ihdrAt + 8);
  out.writeUInt32BE(height, ihdrAt + 12);
  out.writeUInt32BE(zlib.crc32(out.subarray(ihdrAt + 4, ihdrAt + 8 + 13)), ihdrAt + 8 + 13);
  return out;
}

const decodeOpts = (o: Partial<DecodeOptions> = {}): DecodeOptions => ({ size: [28, 28], colorMode: 'rgb', resize: 'fill', maxPixels: 50_000_000, ...o });

async function rejection(bytes: Uint8Array, o: Partial<DecodeOptions> = {}): Promise<string> {
  try {
    await imageToTensorBytes(bytes, decodeOpts(o));
  } catch (err) {
    assert.equal((err as Error).name, 'ImageRejectedError', (err as Error).message);
    return (err as Error).message;
  }
  throw new Error('the image was accepted');
}

/** A backbone variant: the good model's weights file and a model.json changed by `edit`. */
async function backboneVariant(name: string, edit: (json: ModelJsonish) => void, copyWeights = true): Promise<string> {
  const json = JSON.parse(Buffer.from(await store.getBytes(`${BACKBONE}/model.json`)).toString('utf8')) as ModelJsonish;
  const prefix = `${FIXTURES}/backbone/${name}`;
  if (copyWeights) for (const p of json.weightsManifest[0].paths) await store.putBytes(`${prefix}/${p}`, await store.getBytes(`${BACKBONE}/${p}`));
  edit(json);
  await store.putJson(`${prefix}/model.json`, json);
  return prefix;
}
interface ModelJsonish {
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
}

/** A tar archive of `dir` whose entries are named as given (tar keeps `..` and `/` with preservePaths). */
async function tarWith(cwd: string, entries: string[]): Promise<string> {
  const file = path.join(tempDir('tl-faults-tar-'), 'images.tar.gz');
  await tar.c({ file, gzip: true, cwd, preservePaths: true, portable: true }, entries);
  return file;
}

let bad: Record<string, string> = {};

before(async () => {
  worker = await startWorker(env);
  client = await temporalClient(config);
  await tf.setBackend('cpu');
  await buildLabCnn(5).save(s3ModelIO(store, BACKBONE));
  bad = {
    escape: await backboneVariant('escape', (j) => (j.weightsManifest[0].paths = ['../good/' + j.weightsManifest[0].paths[0]]), false),
    missingShard: await backboneVariant('missing', () => {}, false),
    // Same number of elements, so only the layer can tell: [5,5,1,16] becomes [5,5,16,1].
    shape: await backboneVariant('shape', (j) => {
      const s = j.weightsManifest[0].weights[0].shape;
      j.weightsManifest[0].weights[0].shape = [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
    }),
  };
});

after(async () => {
  await worker?.stop();
  await client?.connection.close();
  for (const key of await store.list(`${FIXTURES}/`)) await store.delete(key);
});

// ---- helpers for the cases that go through the CLI ----------------------------------------

/** Every object in the bucket with its ETag: nothing may change or appear during a refusal. */
async function unchangedStore<T>(body: () => Promise<T>): Promise<T> {
  const before = await snapshot(store);
  const out = await body();
  const { changed, added } = diffSnapshots(before, await snapshot(store));
  assert.deepEqual(changed, [], 'objects already stored changed or vanished');
  assert.deepEqual(added, [], 'a refused input stored new objects');
  return out;
}

/** tl refuses before starting anything: exit 2, one line naming the flag or variable. */
async function usageRefusal(args: string[], pattern: RegExp, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  await unchangedStore(async () => {
    const r = await runTl(args, { ...env, ...extraEnv });
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  });
}

/**
 * A run that fails on bad input: exit 1 with one line, quickly (no retries), its failed activity
 * marked non-retryable with the given error type, and the bucket untouched.
 */
async function runRefusal(args: string[], pattern: RegExp, errorType: string): Promise<void> {
  const id = `faults-bad-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
  await unchangedStore(async () => {
    const started = Date.now();
    const r = await runTl([...args, '--id', id, '--wait'], env);
    assert.equal(r.code, 1, `exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tl: run failed: /);
    assert.match(r.stderr, pattern);
    assert.ok(Date.now() - started < 60_000, 'failed without retrying');
  });
  const history = await client.workflow.getHandle(id).fetchHistory();
  const failed = history.events!.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes;
  assert.ok(failed, 'an activity failed');
  const info = failed.failure?.applicationFailureInfo;
  assert.equal(info?.type, errorType);
  assert.equal(info?.nonRetryable, true);
  assert.ok(isBadInputType(errorType));
}

const lab = (...args: string[]) => ['run', 'lab-cnn', '--limit', '200', '--epochs', '1', ...args];
const transfer = (data: string, ...args: string[]) => ['run', 'transfer', '--data', data, '--backbone', s3Url(BACKBONE), '--method', 'features', ...args];

// ---- IDX and gzip --------------------------------------------------------------------------

test('IDX: a file that is not gzip is refused by name', () => {
  assert.throws(() => gunzipIdx('train-labels-idx1-ubyte.gz', Buffer.from('plain text')), {
    name: 'IdxFormatError',
    message: 'train-labels-idx1-ubyte.gz: not a gzip file (expected magic bytes 1f 8b)',
  });
});

test('IDX: a gzip stream with flipped bytes is corrupt', () => {
  const gz = Buffer.from(zlib.gzipSync(Buffer.alloc(5000, 7)));
  for (let i = 20; i < 40; i++) gz[i] ^= 0xff;
  assert.throws(() => gunzipIdx('x.gz', gz), { name: 'IdxFormatError', message: /^x\.gz: corrupt gzip stream/ });
});

test('IDX: a header too short for its rank', () => {
  assert.throws(() => parseIdx('t.idx', Buffer.from([0, 0, 8, 3, 0, 0]), 3), { name: 'IdxFormatError', message: 't.idx: header truncated: 6 of 16 bytes' });
});

test('IDX: data shorter and longer than the header declares', () => {
  const full = encodeIdx([2, 2, 2], new Uint8Array(8));
  assert.throws(() => parseIdx('short.idx', full.subarray(0, full.length - 1), 3), { message: /^short\.idx: data is 7 bytes but the header declares 2×2×2 = 8 bytes \(truncated\)/ });
  assert.throws(() => parseIdx('long.idx', Buffer.concat([full, Buffer.from([1])]), 3), { message: /\(trailing bytes\)/ });
});

test('IDX: a label out of range and images of the wrong size', () => {
  const images = encodeIdx([2, 28, 28], new Uint8Array(2 * 784));
  assert.throws(
    () => parseImageLabelPair({ source: 'i', bytes: images }, { source: 'l', bytes: encodeIdx([2], Uint8Array.from([1, 10])) }, { height: 28, width: 28, numClasses: 10 }),
    { message: 'l: label 10 at index 1 is out of range 0..9' },
  );
  const big = encodeIdx([1, 32, 32], new Uint8Array(1024));
  assert.throws(
    () => parseImageLabelPair({ source: 'i', bytes: big }, { source: 'l', bytes: encodeIdx([1], Uint8Array.from([1])) }, { height: 28, width: 28, numClasses: 10 }),
    { message: 'i: images are 32×32, expected 28×28' },
  );
});

test('CLI: IDX with the wrong magic number fails the run (non-retryable), nothing stored changes', async () => {
  const labels = Buffer.from(gunzipped(FASHION_MNIST_FILES.testLabels));
  labels[3] = 3;
  const source = fashionWith(FASHION_MNIST_FILES.testLabels, zlib.gzipSync(labels));
  await runRefusal(lab('--source', source), /t10k-labels-idx1-ubyte\.gz: wrong magic number 0x00000803, expected 0x00000801/, 'IdxFormatError');
});

test('CLI: a truncated gzip fails the run naming the file', async () => {
  const gz = fs.readFileSync(path.join(config.fashionMnistDir, FASHION_MNIST_FILES.testImages));
  const source = fashionWith(FASHION_MNIST_FILES.testImages, gz.subarray(0, gz.length - 1000));
  await runRefusal(lab('--source', source), /t10k-images-idx3-ubyte\.gz: truncated gzip stream/, 'IdxFormatError');
});

test('CLI: label count not matching the image count fails the run', async () => {
  const labels = gunzipped(FASHION_MNIST_FILES.testLabels);
  const fewer = encodeIdx([9999], labels.subarray(8, 8 + 9999));
  const source = fashionWith(FASHION_MNIST_FILES.testLabels, zlib.gzipSync(fewer));
  await runRefusal(lab('--source', source), /label count 9999 does not match image count 10000/, 'IdxFormatError');
});

test('CLI: a source in another bucket is refused', async () => {
  await runRefusal(lab('--source', 's3://someone-elses-bucket/fashion'), /bucket "someone-elses-bucket" is not the configured bucket/, 'SourceError');
});

// ---- images --------------------------------------------------------------------------------

test('image: a zero-byte file', async () => {
  assert.equal(await rejection(new Uint8Array(0)), 'empty file');
});

test('image: a text file named .jpg is not an image', async () => {
  assert.match(await rejection(Buffer.from('hello, I am not a JPEG')), /^not an image/);
});

test('image: a truncated PNG is refused, not decoded with a grey bottom', async () => {
  const whole = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  assert.match(await rejection(whole.subarray(0, Math.floor(whole.length / 2))), /^truncated or corrupt image data/);
});

test('image: a PNG header claiming 100000×100000 pixels is refused unread (decompression bomb)', async () => {
  const started = Date.now();
  assert.equal(await rejection(await pngClaiming(100_000, 100_000)), 'too large: 100000×100000 pixels exceeds the 50,000,000-pixel limit');
  assert.ok(Date.now() - started < 2000, 'refused from the header alone');
});

test('image: an SVG is refused (vector formats are not accepted)', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  assert.match(await rejection(svg), /^unsupported image format: svg|^not an image/);
});

test('image: other colour modes are converted, not refused (grey → RGB, RGB+alpha → grey, 16-bit)', async () => {
  const grey = await imageToTensorBytes(await png(3, 1), decodeOpts({ colorMode: 'rgb' }));
  assert.equal(grey.length, 28 * 28 * 3);
  const rgba = await sharp(Buffer.alloc(8 * 8 * 4, 200), { raw: { width: 8, height: 8, channels: 4 } }).png().toBuffer();
  assert.equal((await imageToTensorBytes(rgba, decodeOpts({ colorMode: 'grayscale' }))).length, 28 * 28);
  const deep = await sharp(Buffer.alloc(8 * 8 * 3, 100), { raw: { width: 8, height: 8, channels: 3 } }).png({ force: true }).toColourspace('rgb16').toBuffer();
  assert.equal((await imageToTensorBytes(deep, decodeOpts())).length, 28 * 28 * 3);
});

// ---- image folders -------------------------------------------------------------------------

test('folder: an empty class folder is refused by name', async () => {
  const root = folder(await twoClasses());
  fs.mkdirSync(path.join(root, 'wasps'));
  await assert.rejects(scanImageFolder(root, { seed: 1, validationFraction: 0.2 }), { name: 'ImageFolderError', message: `class folder ${path.join(root, 'wasps')} is empty` });
});

test('folder: a single class is refused', async () => {
  const root = folder({ 'ants/0.png': await png(0), 'ants/1.png': await png(1) });
  await assert.rejects(scanImageFolder(root, { seed: 1, validationFraction: 0.2 }), { message: `${root} has a single class (ants): a classifier needs at least two class folders` });
});

test('folder: no class folders at all', async () => {
  const root = folder({ 'a.png': await png(0) });
  await assert.rejects(scanImageFolder(root, { seed: 1, validationFraction: 0.2 }), { message: new RegExp(`^${root} has no class folders`) });
});

test('folder: a symbolic link out of the dataset folder is not followed', async () => {
  const root = folder(await twoClasses());
  const secret = path.join(tempDir('tl-faults-outside-'), 'secret.png');
  fs.writeFileSync(secret, await png(99));
  fs.symlinkSync(secret, path.join(root, 'ants', 'link.png'));
  const scan = await scanImageFolder(root, { seed: 1, validationFraction: 0.2 });
  assert.ok(!scan.files.some((f) => f.path === 'ants/link.png'), 'the link is not a dataset file');
  assert.deepEqual(scan.skipped, [{ path: 'ants/link.png', reason: `symbolic link to ${fs.realpathSync(secret)}, outside the image folder (not followed)` }]);
});

test('folder: an unreadable file (mode 000) is refused by name, as a non-retryable error', async () => {
  const root = folder(await twoClasses());
  const file = path.join(root, 'bees', '2.png');
  fs.chmodSync(file, 0o000);
  // root reads mode-000 files, so as root the ingestion's plan step runs as \`nobody\`, who cannot.
  const plan = `require(${JSON.stringify(path.join(REPO_ROOT, 'dist/activities/ingest-images.js'))}).planImageDatasetCore(` +
    `{ config: { workDir: ${JSON.stringify(workDir)} }, heartbeat: () => {} }, ` +
    `{ data: process.argv[1], imageSize: [28, 28], colorMode: 'grayscale', resize: 'fill', seed: 1, validationFraction: 0.2, shardSize: 64, maxPixels: 1e6 })` +
    `.then(() => console.log('accepted'), (e) => console.log(e.name + ': ' + e.message))`;
  const asRoot = process.getuid?.() === 0;
  fs.chmodSync(root, 0o755); // mkdtemp makes it 0700
  const out = execFileSync(process.execPath, ['-e', asRoot ? `process.setgid(65534); process.setuid(65534); ${plan}` : plan, root], { encoding: 'utf8' }).trim();
  assert.equal(out, `ImageIngestError: image folder ${root}: cannot read ${file} (permission denied)`);
  assert.ok(isBadInputType('ImageIngestError'));
});

// ---- archives ------------------------------------------------------------------------------

test('archive: an entry with a "../" path refuses the whole archive, nothing extracted', async () => {
  const base = folder({ ...(await twoClasses()), 'evil.png': await png(50) });
  const archive = await tarWith(path.join(base, 'ants'), ['0.png', '../evil.png']);
  await assert.rejects(materializeImageSource(archive, store, workDir), { name: 'ImageSourceError', message: /refused entry "\.\.\/evil\.png": it has a "\.\." component/ });
  assert.deepEqual(fs.readdirSync(workDir), [], 'nothing left in the work folder');
});

test('archive: an entry with an absolute path is refused', async () => {
  const base = folder(await twoClasses());
  const archive = await tarWith(base, [path.join(base, 'ants', '0.png')]);
  await assert.rejects(materializeImageSource(archive, store, workDir), { name: 'ImageSourceError', message: /refused entry "\/.*0\.png": it has an absolute path/ });
});

test('archive: a symbolic link entry is refused', async () => {
  const base = folder(await twoClasses());
  fs.symlinkSync('/etc/passwd', path.join(base, 'ants', 'passwd.png'));
  const archive = await tarWith(base, ['ants', 'bees']);
  await assert.rejects(materializeImageSource(archive, store, workDir), { message: /refused entry "ants\/passwd\.png": links are not extracted \(it points to "\/etc\/passwd"\)/ });
});

test('CLI: a transfer run on an archive with a "../" entry fails (non-retryable), nothing stored changes', async () => {
  const base = folder({ ...(await twoClasses()), 'evil.png': await png(51) });
  const archive = await tarWith(path.join(base, 'ants'), ['1.png', '../evil.png']);
  await runRefusal(transfer(archive), /refused entry "\.\.\/evil\.png"/, 'ImageSourceError');
});

test('CLI: a transfer run on a single-class folder fails naming the folder', async () => {
  const root = folder({ 'ants/0.png': await png(0), 'ants/1.png': await png(1) });
  await runRefusal(transfer(root), new RegExp(`${root} has a single class \\(ants\\)`), 'ImageFolderError');
});

test('CLI: a transfer run with an empty class folder fails naming it', async () => {
  const root = folder(await twoClasses());
  fs.mkdirSync(path.join(root, 'wasps'));
  await runRefusal(transfer(root), /class folder .*wasps is empty/, 'ImageFolderError');
});

// ---- models --------------------------------------------------------------------------------

test("model: weight paths that leave the model's folder are refused", async () => {
  await assert.rejects(loadBackbone(s3Url(bad.escape), { store }), { name: 'ModelFormatError', message: /weights path "\.\.\/good\/.*" escapes the model's folder/ });
});

test('model: a missing weights shard is named', async () => {
  await assert.rejects(loadBackbone(s3Url(bad.missingShard), { store }), { name: 'ModelFormatError', message: /weights file ".*\.weights\.bin" listed in model\.json does not exist/ });
});

test('model: a weight whose shape does not match its layer', async () => {
  await assert.rejects(loadBackbone(s3Url(bad.shape), { store }), { name: 'ModelFormatError', message: /^model .*has shape \[5,5,16,1\] in the weights manifest but the layer expects \[5,5,1,16\]/ });
});

test('model: a cut layer that does not exist', async () => {
  await assert.rejects(loadBackbone(s3Url(BACKBONE), { store, cutLayer: 'no_such_layer' }), { name: 'ModelFormatError', message: /no_such_layer/ });
});

test('CLI: a backbone whose weight paths escape its folder fails the run', async () => {
  await runRefusal(['run', 'transfer', '--data', folder(await twoClasses()), '--backbone', s3Url(bad.escape), '--method', 'features'], /escapes the model's folder/, 'ModelFormatError');
});

test('CLI: a backbone with a missing weights shard fails the run', async () => {
  await runRefusal(['run', 'transfer', '--data', folder(await twoClasses()), '--backbone', s3Url(bad.missingShard), '--method', 'features'], /listed in model\.json does not exist/, 'ModelFormatError');
});

test('CLI: a cut layer that does not exist fails the run', async () => {
  await runRefusal(transfer(folder(await twoClasses()), '--cut-layer', 'no_such_layer'), /no_such_layer/, 'ModelFormatError');
});

// ---- flags and configuration ---------------------------------------------------------------

test('CLI flags: out-of-range and malformed numbers', async () => {
  await usageRefusal(['run', 'lab-cnn', '--epochs', '0'], /^tl: --epochs "0" is invalid: expected an integer from 1 to 1000/);
  await usageRefusal(['run', 'lab-cnn', '--limit', 'lots'], /^tl: --limit "lots" is invalid/);
  await usageRefusal(['run', 'lab-cnn', '--learning-rate', '2'], /^tl: --learning-rate "2" is invalid: expected a number from 1e-7 to 1/);
});

test('CLI flags: an unknown option and a bad choice', async () => {
  await usageRefusal(['run', 'lab-cnn', '--epoch', '3'], /^tl: unknown option '--epoch'/);
  await usageRefusal(['run', 'transfer', '--data', '.', '--backbone', '.', '--method', 'magic'], /^tl: option '--method <method>' argument 'magic' is invalid/);
});

test('CLI flags: --stages that is not valid JSON nor a file', async () => {
  await usageRefusal(transfer('.', '--stages', '[{"name":'), /^tl: --stages: stages: not valid JSON/);
  assert.throws(() => parseStages('[{"name":"x","unfreeze":"head","epochs":0,"learningRate":1}]'), { name: 'ConfigError' });
});

test('configuration: a bad variable is named, before anything starts', async () => {
  await usageRefusal(['runs', 'list'], /^tl: TL_S3_BUCKET="Bad_Bucket" is invalid: expected an S3 bucket name/, { TL_S3_BUCKET: 'Bad_Bucket' });
  await usageRefusal(['runs', 'list'], /^tl: TL_TEMPORAL_ADDRESS="localhost" is invalid: expected host:port/, { TL_TEMPORAL_ADDRESS: 'localhost' });
  assert.throws(() => loadConfig({ TL_BACKEND: 'gpu-please' }), { name: 'ConfigError', message: /^TL_BACKEND="gpu-please" is invalid/ });
});

// ---- S3 keys and stored objects ------------------------------------------------------------

test('S3 keys: "..", empty segments, spaces, unicode and control characters are refused', () => {
  for (const part of ['runs/../etc', 'a//b', 'run id', 'läuft', 'x\ny', '.hidden', '']) {
    assert.throws(() => artifactKey('runs', part), { name: 'InvalidKeyError' }, JSON.stringify(part));
  }
  assert.equal(artifactKey('runs', 'lab-cnn-20250101-abc', 'report.json'), 'runs/lab-cnn-20250101-abc/report.json');
});

test('CLI: a run id with characters S3 keys refuse fails at once, before any step', async () => {
  await unchangedStore(async () => {
    const r = await runTl(['run', 'lab-cnn', '--limit', '200', '--epochs', '1', '--id', 'bad id/../x', '--wait'], env);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tl: --id "bad id\/\.\.\/x" is invalid: /);
  });
});

test('S3: an object whose bytes no longer match their recorded SHA-256 is never read', async () => {
  const key = `${FIXTURES}/tampered.bin`;
  await store.s3.send(
    new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: store.bucket, Key: key, Body: Buffer.from('new bytes'), Metadata: { sha256: sha256Hex('old bytes') } }),
  );
  await assert.rejects(store.getBytes(key), (err: Error) => err instanceof IntegrityError && /SHA-256 mismatch/.test(err.message) && err.message.includes(key));
  await assert.rejects(store.getFile(key, path.join(os.tmpdir(), `tl-faults-${stamp}.bin`)), IntegrityError);
  assert.ok(!fs.existsSync(path.join(os.tmpdir(), `tl-faults-${stamp}.bin`)), 'no file left from a failed read');
});
