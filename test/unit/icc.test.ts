import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { iccDescription, isSrgbProfile } from '../../lib/data/images/icc';
import { imageToTensorBytes } from '../../lib/data/images/decode';

/** A smooth gradient (little JPEG noise), written with the given output profile. */
async function jpegWithProfile(profile?: 'srgb' | 'p3'): Promise<Buffer> {
  const w = 64;
  const h = 48;
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) raw.set([20 + (i % w) * 3, 200 - Math.floor(i / w) * 2, 60], i * 3);
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  return (profile ? img.withIccProfile(profile) : img).jpeg({ quality: 95 }).toBuffer();
}

const iccOf = async (jpeg: Buffer) => (await sharp(jpeg).metadata()).icc;
const opts = { size: [32, 32] as [number, number], colorMode: 'rgb' as const, resize: 'cover' as const, maxPixels: 1e6 };

test("an embedded profile's description is read from its desc tag", async () => {
  const srgb = await iccOf(await jpegWithProfile('srgb'));
  const p3 = await iccOf(await jpegWithProfile('p3'));
  assert.ok(srgb && p3);
  assert.match(iccDescription(srgb)!, /sRGB/);
  assert.match(iccDescription(p3)!, /P3/);
  assert.equal(isSrgbProfile(srgb), true);
  assert.equal(isSrgbProfile(p3), false);
  assert.equal(isSrgbProfile(undefined), false);
  assert.equal(iccDescription(new Uint8Array(10)), undefined, 'too short to be a profile');
  assert.equal(iccDescription(srgb.subarray(0, 140)), undefined, 'tag table points past the end');
});

test('an sRGB-tagged JPEG decodes like an untagged one; a Display P3 one is converted back to the same sRGB colours', async () => {
  // sharp writes the P3 file's pixels in P3 (sRGB 60 becomes about 80): read as is, they would be off.
  const plain = await imageToTensorBytes(await jpegWithProfile(), opts);
  const srgb = await imageToTensorBytes(await jpegWithProfile('srgb'), opts);
  const p3 = await imageToTensorBytes(await jpegWithProfile('p3'), opts);
  const meanDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, x, i) => m + Math.abs(x - b[i]), 0) / a.length;
  assert.equal(meanDiff(plain, srgb), 0);
  assert.ok(meanDiff(plain, p3) < 2, `P3 pixels converted to sRGB should match the original (mean difference ${meanDiff(plain, p3).toFixed(2)})`);
});
