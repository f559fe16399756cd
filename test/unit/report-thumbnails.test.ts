import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { thumbnails, workerEnvironment } from '../../activities/report-data';

async function decode(url: string) {
  assert.match(url, /^data:image\/png;base64,/);
  const png = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, info, bytes: png.length };
}

test('thumbnails: Fashion-MNIST pixels become sharp, scaled-up grayscale PNGs of the right image', async () => {
  // Three 28×28 images, each one flat grey level, so the decoded thumbnail says which it was.
  const levels = [10, 128, 250];
  const images = new Uint8Array(3 * 28 * 28);
  levels.forEach((v, i) => images.fill(v, i * 784, (i + 1) * 784));
  const data = { count: 3, imageShape: [28, 28, 1] as [number, number, number], images, labels: new Uint8Array(3) };
  const out = await thumbnails(data, [
    { index: 2, name: 'test #2' },
    { index: 0, name: 'test #0' },
    { index: 7, name: 'out of range' },
  ]);
  assert.deepEqual(Object.keys(out).sort(), ['test #0', 'test #2']);
  for (const [name, level] of [['test #0', 10], ['test #2', 250]] as const) {
    const { data: px, info } = await decode(out[name]);
    assert.equal(info.width, 84, 'scaled by a whole factor (3×) to stay crisp');
    assert.equal(info.height, 84);
    assert.ok(px.every((v) => v === level), `${name} has its own pixels`);
  }
});

test('thumbnails: large RGB images shrink to at most 96 px and stay small', async () => {
  const [h, w] = [224, 160];
  const images = new Uint8Array(h * w * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37) % 256; // noisy: the worst case for PNG
  const data = { count: 1, imageShape: [h, w, 3] as [number, number, number], images, labels: new Uint8Array(1) };
  const out = await thumbnails(data, [{ index: 0, name: 'a.jpg' }]);
  const { info, bytes } = await decode(out['a.jpg']);
  assert.equal(info.height, 96);
  assert.equal(info.width, Math.round((96 * w) / h));
  assert.ok(bytes < 20_000, `thumbnail is ${bytes} bytes`);
});

test('worker environment names the backend, library versions and cores', () => {
  const env = workerEnvironment('wasm');
  assert.equal(env.backend, 'wasm');
  for (const k of ['tfjs', 'node', 'sharp', 'libvips']) assert.match(String(env[k]), /^v?\d+\.\d+/, k);
  assert.ok(Number.isInteger(env.cores) && (env.cores as number) >= 1);
});
