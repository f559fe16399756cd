import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { encodeIdx, gunzipIdx, parseIdx, parseImageLabelPair, IdxFormatError } from '../../lib/data/idx';

const images = (n: number, h = 28, w = 28) => encodeIdx([n, h, w], Uint8Array.from({ length: n * h * w }, (_, i) => i % 256));
const labels = (values: number[]) => encodeIdx([values.length], Uint8Array.from(values));

test('parses a valid image/label pair', () => {
  const pair = parseImageLabelPair(
    { source: 'img', bytes: images(3) },
    { source: 'lab', bytes: labels([0, 9, 4]) },
    { height: 28, width: 28, numClasses: 10 },
  );
  assert.equal(pair.count, 3);
  assert.equal(pair.images.length, 3 * 784);
  assert.deepEqual([...pair.labels], [0, 9, 4]);
  assert.equal(pair.images[785], 785 % 256);
});

test('round-trips through gzip', () => {
  const raw = labels([1, 2, 3]);
  assert.deepEqual([...gunzipIdx('x.gz', zlib.gzipSync(raw))], [...raw]);
});

test('wrong magic number names the file and both numbers', () => {
  const bytes = images(1);
  bytes[3] = 0x01; // claims rank 1
  assert.throws(() => parseIdx('train-images.gz', bytes, 3), (err: Error) => {
    assert.ok(err instanceof IdxFormatError);
    assert.match(err.message, /^train-images\.gz: wrong magic number 0x00000801, expected 0x00000803/);
    return true;
  });
});

test('non-uint8 type byte is rejected', () => {
  const bytes = labels([1]);
  bytes[2] = 0x0d; // float
  assert.throws(() => parseIdx('l', bytes, 1), /wrong magic number 0x00000d01/);
});

test('truncated data is reported with sizes', () => {
  const bytes = images(2).subarray(0, 16 + 784 + 10);
  assert.throws(() => parseIdx('img', bytes, 3), /data is 794 bytes but the header declares 2×28×28 = 1568 bytes \(truncated\)/);
});

test('trailing bytes are reported', () => {
  const bytes = new Uint8Array([...labels([1, 2]), 7]);
  assert.throws(() => parseIdx('lab', bytes, 1), /trailing bytes/);
});

test('header shorter than its dimensions', () => {
  assert.throws(() => parseIdx('img', images(1).subarray(0, 9), 3), /header truncated: 9 of 16 bytes/);
  assert.throws(() => parseIdx('img', new Uint8Array(2), 3), /too short for an IDX header/);
});

test('truncated gzip stream', () => {
  const gz = zlib.gzipSync(images(50));
  assert.throws(() => gunzipIdx('t10k.gz', gz.subarray(0, gz.length / 2)), /^IdxFormatError: t10k\.gz: truncated gzip stream/);
});

test('corrupt gzip stream and non-gzip input', () => {
  const gz = Buffer.from(zlib.gzipSync(images(5)));
  for (let i = 20; i < 60; i++) gz[i] ^= 0xff;
  assert.throws(() => gunzipIdx('c.gz', gz), /c\.gz: (corrupt|truncated) gzip stream/);
  assert.throws(() => gunzipIdx('plain.idx', images(1)), /plain\.idx: not a gzip file/);
});

test('label/image count mismatch', () => {
  assert.throws(
    () =>
      parseImageLabelPair({ source: 'img', bytes: images(3) }, { source: 'lab', bytes: labels([1, 2]) }, { height: 28, width: 28, numClasses: 10 }),
    /lab: label count 2 does not match image count 3 in img/,
  );
});

test('wrong image size and out-of-range labels', () => {
  assert.throws(
    () => parseImageLabelPair({ source: 'img', bytes: images(1, 32, 32) }, { source: 'lab', bytes: labels([1]) }, { height: 28, width: 28, numClasses: 10 }),
    /images are 32×32, expected 28×28/,
  );
  assert.throws(
    () => parseImageLabelPair({ source: 'img', bytes: images(2) }, { source: 'lab', bytes: labels([1, 10]) }, { height: 28, width: 28, numClasses: 10 }),
    /label 10 at index 1 is out of range 0..9/,
  );
});
