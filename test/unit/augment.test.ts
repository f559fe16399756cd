import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentSmallImagesInPlace } from '../../lib/training/augment';
import { oneHot } from '../../lib/data/dataset';

const image = (h: number, w: number, offset: number) => Float32Array.from({ length: h * w }, (_, i) => i + offset);

test('without shifts every image is kept or mirrored, chosen by the seed', () => {
  const [h, w, n] = [3, 4, 16];
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) x.set(image(h, w, i * 100), i * h * w);
  const original = x.slice();
  augmentSmallImagesInPlace(x, n, h, w, 5, { flip: true, maxShift: 0 });
  let flipped = 0;
  for (let i = 0; i < n; i++) {
    const before = original.subarray(i * h * w, (i + 1) * h * w);
    const after = x.subarray(i * h * w, (i + 1) * h * w);
    const mirrored = Float32Array.from({ length: h * w }, (_, k) => before[Math.floor(k / w) * w + (w - 1 - (k % w))]);
    if (after.every((v, k) => v === mirrored[k])) flipped++;
    else assert.deepEqual(after, before);
  }
  assert.ok(flipped > 0 && flipped < n, `${flipped} of ${n} flipped`);
  const again = original.slice();
  augmentSmallImagesInPlace(again, n, h, w, 5, { flip: true, maxShift: 0 });
  assert.deepEqual(again, x, 'the same seed gives the same batch');
});

test('shifts move pixels and fill the edge with zeros', () => {
  const [h, w] = [5, 5];
  let sawShift = false;
  for (let seed = 0; seed < 20 && !sawShift; seed++) {
    const x = Float32Array.from({ length: h * w }, () => 1);
    augmentSmallImagesInPlace(x, 1, h, w, seed, { flip: true, maxShift: 2 });
    const zeros = x.filter((v) => v === 0).length;
    if (zeros > 0) sawShift = true;
    assert.ok(zeros <= h * w - 9, 'at most 2 rows and 2 columns are emptied');
  }
  assert.ok(sawShift);
});

test('nothing asked, nothing changed', () => {
  const x = image(6, 6, 1);
  const before = x.slice();
  augmentSmallImagesInPlace(x, 1, 6, 6, 3, { flip: false, maxShift: 0, erase: 0 });
  assert.deepEqual(x, before);
});

test('random erasing zeroes one rectangle of 2–20% of the image, as often as asked', () => {
  const [h, w, n] = [28, 28, 400];
  const x = new Float32Array(n * h * w).fill(1);
  augmentSmallImagesInPlace(x, n, h, w, 11, { flip: false, maxShift: 0, erase: 0.5 });
  let erased = 0;
  for (let i = 0; i < n; i++) {
    const img = x.subarray(i * h * w, (i + 1) * h * w);
    const zeros: number[] = [];
    img.forEach((v, k) => v === 0 && zeros.push(k));
    if (zeros.length === 0) continue;
    erased++;
    const rows = zeros.map((k) => Math.floor(k / w));
    const cols = zeros.map((k) => k % w);
    const height = Math.max(...rows) - Math.min(...rows) + 1;
    const width = Math.max(...cols) - Math.min(...cols) + 1;
    assert.equal(zeros.length, height * width, `image ${i}: the erased pixels form one rectangle`);
    assert.ok(zeros.length >= 1 && zeros.length <= Math.ceil(0.3 * h * w), `image ${i}: ${zeros.length} pixels erased`);
  }
  assert.ok(erased > n * 0.4 && erased < n * 0.6, `${erased} of ${n} erased at p = 0.5`);
});

test('label smoothing moves ε of each target onto all classes evenly', () => {
  const y = oneHot(Uint8Array.from([2, 0]), 4, 0.1);
  const expected = [0.025, 0.025, 0.925, 0.025, 0.925, 0.025, 0.025, 0.025];
  y.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `y[${i}] = ${v}`));
  assert.deepEqual(Array.from(oneHot(Uint8Array.from([1]), 3)), [0, 1, 0]);
});
