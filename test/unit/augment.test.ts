import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flipAndShiftInPlace } from '../../lib/training/augment';

const image = (h: number, w: number, offset: number) => Float32Array.from({ length: h * w }, (_, i) => i + offset);

test('without shifts every image is kept or mirrored, chosen by the seed', () => {
  const [h, w, n] = [3, 4, 16];
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) x.set(image(h, w, i * 100), i * h * w);
  const original = x.slice();
  flipAndShiftInPlace(x, n, h, w, 5, 0);
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
  flipAndShiftInPlace(again, n, h, w, 5, 0);
  assert.deepEqual(again, x, 'the same seed gives the same batch');
});

test('shifts move pixels and fill the edge with zeros', () => {
  const [h, w] = [5, 5];
  let sawShift = false;
  for (let seed = 0; seed < 20 && !sawShift; seed++) {
    const x = Float32Array.from({ length: h * w }, () => 1);
    flipAndShiftInPlace(x, 1, h, w, seed, 2);
    const zeros = x.filter((v) => v === 0).length;
    if (zeros > 0) sawShift = true;
    assert.ok(zeros <= h * w - 9, 'at most 2 rows and 2 columns are emptied');
  }
  assert.ok(sawShift);
});
