// Image decoding (sharp) and image-folder scanning, on files made here with sharp itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { imageToTensorBytes, ImageRejectedError, type DecodeOptions } from '../../lib/data/images/decode';
import { scanImageFolder, ImageFolderError } from '../../lib/data/images/scan';
import { tempDir } from '../temp-dirs';

type RGB = [number, number, number];
const RED: RGB = [255, 0, 0];
const GREEN: RGB = [0, 255, 0];
const BLUE: RGB = [0, 0, 255];

/** A raw RGB image whose colour at each pixel is colorAt(x, y). */
function rawImage(width: number, height: number, colorAt: (x: number, y: number) => RGB): sharp.Sharp {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colorAt(x, y), (y * width + x) * 3);
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** Left half red, right half blue. */
const halves = (width: number, height: number) => rawImage(width, height, (x) => (x < width / 2 ? RED : BLUE));

function pixel(data: Uint8Array, width: number, channels: number, x: number, y: number): number[] {
  const i = (y * width + x) * channels;
  return [...data.subarray(i, i + channels)];
}

/** Within `tolerance` per channel: lossy codecs move colours a little. */
function near(actual: number[], expected: number[], tolerance = 40): boolean {
  return actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);
}

const opts = (o: Partial<DecodeOptions> = {}): DecodeOptions => ({ size: [24, 32], colorMode: 'rgb', resize: 'fill', maxPixels: 50_000_000, ...o });

async function rejectionOf(bytes: Uint8Array, o: Partial<DecodeOptions> = {}): Promise<string> {
  try {
    await imageToTensorBytes(bytes, opts(o));
  } catch (err) {
    assert.ok(err instanceof ImageRejectedError, `expected ImageRejectedError, got ${err}`);
    return err.reason;
  }
  assert.fail('the image was accepted');
}

/** A JPEG of noise, so every part of the file carries image data (a cut anywhere loses pixels). */
async function noiseJpeg(): Promise<Buffer> {
  return rawImage(300, 200, (x, y) => [(x * 7919 + y * 31) % 256, (x * 13 + y * 7) % 256, (x * y) % 256]).jpeg({ quality: 90 }).toBuffer();
}

// --- decoding ------------------------------------------------------------------------------

test('decodes JPEG, PNG, WebP, TIFF, AVIF and GIF into h×w×3 bytes', async () => {
  const source = halves(32, 24);
  const encoded: Record<string, Buffer> = {
    jpeg: await source.clone().jpeg({ quality: 95 }).toBuffer(),
    png: await source.clone().png().toBuffer(),
    webp: await source.clone().webp({ quality: 95 }).toBuffer(),
    tiff: await source.clone().tiff().toBuffer(),
    avif: await source.clone().avif({ quality: 90 }).toBuffer(),
    gif: await source.clone().gif().toBuffer(),
  };
  for (const [format, bytes] of Object.entries(encoded)) {
    assert.equal((await sharp(bytes).metadata()).format, format === 'avif' ? 'heif' : format);
    const out = await imageToTensorBytes(bytes, opts());
    assert.equal(out.length, 24 * 32 * 3, format);
    assert.ok(near(pixel(out, 32, 3, 4, 12), RED), `${format}: left is red, got ${pixel(out, 32, 3, 4, 12)}`);
    assert.ok(near(pixel(out, 32, 3, 28, 12), BLUE), `${format}: right is blue, got ${pixel(out, 32, 3, 28, 12)}`);
  }
});

test('an animated GIF gives its first frame', async () => {
  const red = await rawImage(8, 8, () => RED).png().toBuffer();
  const blue = await rawImage(8, 8, () => BLUE).png().toBuffer();
  const gif = await sharp([red, blue], { join: { animated: true } }).gif().toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  const out = await imageToTensorBytes(gif, opts({ size: [8, 8] }));
  assert.ok(near(pixel(out, 8, 3, 4, 4), RED, 10), `got ${pixel(out, 8, 3, 4, 4)}`);
});

test('EXIF orientation 6 is applied: the stored image is upright', async () => {
  // Stored 40 wide × 20 high, left red / right blue; orientation 6 means "rotate 90° clockwise
  // to display", so the upright picture is 20 × 40 with red on top.
  const jpeg = await halves(40, 20).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  assert.equal((await sharp(jpeg).metadata()).orientation, 6);
  const out = await imageToTensorBytes(jpeg, opts({ size: [40, 20] }));
  assert.ok(near(pixel(out, 20, 3, 10, 5), RED), `top is red, got ${pixel(out, 20, 3, 10, 5)}`);
  assert.ok(near(pixel(out, 20, 3, 10, 35), BLUE), `bottom is blue, got ${pixel(out, 20, 3, 10, 35)}`);
});

test('cover crops the centre, contain letterboxes in black, fill stretches', async () => {
  // 200 × 100: a red, a green (twice as wide) and a blue band.
  const png = await rawImage(200, 100, (x) => (x < 50 ? RED : x < 150 ? GREEN : BLUE)).png().toBuffer();
  const at = async (resize: DecodeOptions['resize']) => {
    const out = await imageToTensorBytes(png, opts({ size: [50, 50], resize }));
    assert.equal(out.length, 50 * 50 * 3);
    return (x: number, y: number) => pixel(out, 50, 3, x, y);
  };
  const cover = await at('cover'); // scaled to 100 × 50, the middle 50 columns kept: all green
  assert.ok(near(cover(1, 25), GREEN) && near(cover(48, 25), GREEN), `cover: ${cover(1, 25)} ${cover(48, 25)}`);
  const contain = await at('contain'); // scaled to 50 × 25, black bars above and below
  assert.deepEqual(contain(25, 2), [0, 0, 0]);
  assert.deepEqual(contain(25, 47), [0, 0, 0]);
  assert.ok(near(contain(3, 25), RED) && near(contain(25, 25), GREEN) && near(contain(46, 25), BLUE));
  const fill = await at('fill'); // every band kept, squeezed; no bars
  assert.ok(near(fill(3, 25), RED) && near(fill(25, 2), GREEN) && near(fill(46, 25), BLUE), `fill: ${fill(25, 2)}`);
});

test('size is [height, width]', async () => {
  const png = await halves(64, 64).png().toBuffer();
  const out = await imageToTensorBytes(png, opts({ size: [30, 60] }));
  assert.equal(out.length, 30 * 60 * 3);
  assert.ok(near(pixel(out, 60, 3, 5, 29), RED) && near(pixel(out, 60, 3, 55, 29), BLUE));
});

test('grayscale gives one channel; transparency is flattened onto white', async () => {
  const white = await rawImage(10, 10, () => [255, 255, 255]).png().toBuffer();
  const gray = await imageToTensorBytes(white, opts({ size: [5, 5], colorMode: 'grayscale' }));
  assert.equal(gray.length, 25);
  assert.ok(gray.every((v) => v === 255));
  const red = await imageToTensorBytes(await rawImage(10, 10, () => RED).png().toBuffer(), opts({ size: [5, 5], colorMode: 'grayscale' }));
  assert.ok(red[0] > 20 && red[0] < 200, `red is a mid grey, got ${red[0]}`);

  const transparent = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  assert.deepEqual([...(await imageToTensorBytes(transparent, opts({ size: [2, 2] })))], new Array(12).fill(255));
  // 16-bit PNGs come out as 8-bit like everything else.
  const deep = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#0000ff' } }).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(deep).metadata()).depth, 'ushort');
  assert.ok(near(pixel(await imageToTensorBytes(deep, opts({ size: [2, 2] })), 2, 3, 0, 0), BLUE, 2));
});

test('refuses empty files, text, SVG, truncated and corrupt data with short reasons', async () => {
  assert.equal(await rejectionOf(new Uint8Array(0)), 'empty file');
  assert.equal(await rejectionOf(Buffer.from('just some notes about the dataset\n')), 'not an image');
  assert.equal(await rejectionOf(randomBytes(4096)), 'not an image');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  assert.equal(await rejectionOf(svg), 'unsupported image format: svg');

  const jpeg = await noiseJpeg();
  await imageToTensorBytes(jpeg, opts()); // the whole file is fine
  // Cut anywhere: libjpeg itself only warns ("premature end"), so this checks failOn is strict enough.
  for (const fraction of [0.3, 0.6, 0.95]) {
    assert.equal(await rejectionOf(jpeg.subarray(0, Math.floor(jpeg.length * fraction))), 'truncated or corrupt image data', `cut at ${fraction}`);
  }
  const corrupt = Buffer.from(jpeg);
  for (let i = 2000; i < 6000; i++) corrupt[i] = (i * 31) & 0xff; // scribbled over the middle of the scan data
  assert.equal(await rejectionOf(corrupt), 'truncated or corrupt image data');
  assert.equal(await rejectionOf(Buffer.concat([jpeg.subarray(0, 4), randomBytes(3000)])), 'truncated or corrupt image data');
  const png = await halves(100, 100).png().toBuffer();
  assert.equal(await rejectionOf(png.subarray(0, png.length >> 1)), 'truncated or corrupt image data');
});

test('a decompression bomb is refused from its header alone', async () => {
  const bomb = pngBomb(30000, 30000);
  assert.ok(bomb.length < 200, `tiny on disk: ${bomb.length} bytes`);
  const started = Date.now();
  assert.equal(await rejectionOf(bomb), 'too large: 30000×30000 pixels exceeds the 50,000,000-pixel limit');
  assert.ok(Date.now() - started < 2000, 'refused without decoding');
  // The limit is the caller's: a 100 × 100 image is refused under a 5,000-pixel limit.
  assert.equal(await rejectionOf(await halves(100, 100).png().toBuffer(), { maxPixels: 5000 }), 'too large: 100×100 pixels exceeds the 5,000-pixel limit');
});

/** A valid PNG header claiming width × height RGB pixels, with one tiny compressed row of data. */
function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- scanning ------------------------------------------------------------------------------


function tree(files: Record<string, string | Buffer>): string {
  const root = tempDir('tl-scan-');
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

/** n files with distinct content under dir/. */
const many = (dir: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${dir}/${String(i).padStart(2, '0')}.jpg`, `${dir} ${i}`]));

test('class/* layout: labels by sorted folder name, a stratified seeded split, hidden files skipped', async () => {
  const root = tree({ ...many('dogs', 6), ...many('cats', 10), 'cats/.DS_Store': 'x', '__MACOSX/cats/._00.jpg': 'x', 'notes.txt': 'x' });
  const scan = await scanImageFolder(root, { seed: 7, validationFraction: 0.2 });
  assert.equal(scan.layout, 'class/*');
  assert.deepEqual(scan.classNames, ['cats', 'dogs']);
  assert.equal(scan.files.length, 16);
  assert.deepEqual(scan.skipped, [{ path: 'notes.txt', reason: 'not inside a class folder' }]);
  const val = (label: number) => scan.files.filter((f) => f.label === label && f.split === 'val').length;
  assert.equal(val(0), 2); // round(10 × 0.2)
  assert.equal(val(1), 1); // round(6 × 0.2)
  assert.ok(scan.files.every((f) => f.label === (f.path.startsWith('cats/') ? 0 : 1)));
  assert.deepEqual(scan.files.map((f) => f.path), [...scan.files.map((f) => f.path)].sort(), 'sorted by path');
  assert.match(scan.files[0].sha256, /^[0-9a-f]{64}$/);
  assert.equal(scan.files[0].bytes, Buffer.byteLength('cats 0'));

  const again = await scanImageFolder(root, { seed: 7, validationFraction: 0.2 });
  assert.deepEqual(again, scan, 'same seed, same split');
  const other = await scanImageFolder(root, { seed: 8, validationFraction: 0.2 });
  const valPaths = (s: typeof scan) => s.files.filter((f) => f.split === 'val').map((f) => f.path);
  assert.notDeepEqual(valPaths(other), valPaths(scan), 'another seed, another split');
  const none = await scanImageFolder(root, { seed: 7, validationFraction: 0 });
  assert.ok(none.files.every((f) => f.split === 'train'));
});

test('identical files are reported, and kept together in one split', async () => {
  const root = tree({ ...many('a', 5), ...many('b', 5), 'a/copy-of-00.jpg': 'a 0', 'a/copy-2.jpg': 'a 0' });
  for (const seed of [1, 2, 3, 4, 5]) {
    const scan = await scanImageFolder(root, { seed, validationFraction: 0.5 });
    assert.equal(scan.duplicates.length, 1);
    assert.deepEqual(scan.duplicates[0].paths, ['a/00.jpg', 'a/copy-2.jpg', 'a/copy-of-00.jpg']);
    assert.deepEqual(scan.crossSplit, [], 'copies never straddle train and val');
  }
});

test('{train,validation,test}/class/* layout keeps the given split and finds cross-split copies', async () => {
  const root = tree({
    ...many('train/ants', 3),
    ...many('train/bees', 3),
    'validation/ants/v.jpg': 'val ant',
    'validation/bees/leak.jpg': 'train/ants 1', // the same bytes as a training image
    'test/ants/t.jpg': 'test ant',
    'test/bees/t.jpg': 'test bee',
    'README.md': 'about',
  });
  const scan = await scanImageFolder(root, { seed: 1, validationFraction: 0.5 });
  assert.equal(scan.layout, 'split/class/*');
  assert.deepEqual(scan.classNames, ['ants', 'bees']);
  const count = (split: string) => scan.files.filter((f) => f.split === split).length;
  assert.deepEqual([count('train'), count('val'), count('test')], [6, 2, 2]);
  assert.equal(scan.files.find((f) => f.path === 'validation/bees/leak.jpg')?.label, 1);
  assert.deepEqual(scan.crossSplit.map((c) => c.paths), [['train/ants/01.jpg', 'validation/bees/leak.jpg']]);
  assert.deepEqual(scan.duplicates.map((c) => c.paths), [['train/ants/01.jpg', 'validation/bees/leak.jpg']]);
  assert.deepEqual(scan.skipped, [{ path: 'README.md', reason: 'not inside a class folder' }]);
});

test('clear errors: empty class folder, a single class, no classes, mixed layouts', async () => {
  const empty = tree({ ...many('cats', 3), 'dogs/.hidden': 'x' });
  await assert.rejects(scanImageFolder(empty, { seed: 1, validationFraction: 0.2 }), (err: Error) => {
    assert.ok(err instanceof ImageFolderError);
    assert.match(err.message, /class folder .*dogs is empty/);
    return true;
  });
  await assert.rejects(scanImageFolder(tree(many('cats', 3)), { seed: 1, validationFraction: 0.2 }), /single class \(cats\): a classifier needs at least two/);
  await assert.rejects(scanImageFolder(tree({ 'a.jpg': 'x' }), { seed: 1, validationFraction: 0.2 }), /has no class folders/);
  await assert.rejects(scanImageFolder(tree({ ...many('train/a', 2), ...many('train/b', 2), ...many('extra/a', 1) }), { seed: 1, validationFraction: 0 }), /mixes split folders \(train\) with other folders \(extra\)/);
  await assert.rejects(scanImageFolder(tree({ ...many('val/a', 2), ...many('val/b', 2) }), { seed: 1, validationFraction: 0 }), /no train folder/);
  await assert.rejects(scanImageFolder('/nonexistent/images', { seed: 1, validationFraction: 0 }), /image folder \/nonexistent\/images does not exist/);
});

test('symbolic links out of the folder are set aside, never read', async () => {
  const outside = tempDir('tl-secret-');
  fs.writeFileSync(path.join(outside, 'secret.jpg'), 'secret');
  const root = tree({ ...many('a', 2), ...many('b', 2) });
  fs.symlinkSync(path.join(outside, 'secret.jpg'), path.join(root, 'a', 'escape.jpg'));
  fs.symlinkSync(outside, path.join(root, 'b', 'escape-dir'));
  fs.symlinkSync('../b/00.jpg', path.join(root, 'a', 'inside.jpg')); // stays inside: followed
  fs.symlinkSync(path.join(root, 'missing.jpg'), path.join(root, 'a', 'broken.jpg'));
  const scan = await scanImageFolder(root, { seed: 1, validationFraction: 0 });
  assert.deepEqual(scan.files.map((f) => f.path), ['a/00.jpg', 'a/01.jpg', 'a/inside.jpg', 'b/00.jpg', 'b/01.jpg']);
  const reasons = Object.fromEntries(scan.skipped.map((s) => [s.path, s.reason]));
  assert.match(reasons['a/escape.jpg'], /^symbolic link to .*secret\.jpg, outside the image folder \(not followed\)$/);
  assert.match(reasons['b/escape-dir'], /outside the image folder/);
  assert.equal(reasons['a/broken.jpg'], 'broken symbolic link');
  assert.deepEqual(scan.duplicates.map((d) => d.paths), [['a/inside.jpg', 'b/00.jpg']]);
});
