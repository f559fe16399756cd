// Training-time augmentation for photos: random horizontal flips and random crops
// (80–100% of each side, resized back), seeded so a resumed epoch sees the same batches.
import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../data/dataset';

export function augmentBatch(x: tf.Tensor4D, seed: number): tf.Tensor4D {
  const random = seededRandom(seed);
  const [n, h, w] = x.shape;
  const boxes: number[][] = [];
  const flips: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const scale = 0.8 + 0.2 * random();
    const top = (1 - scale) * random();
    const left = (1 - scale) * random();
    boxes.push([top, left, top + scale, left + scale]);
    flips.push(random() < 0.5);
  }
  return tf.tidy(() => {
    const cropped = tf.image.cropAndResize(x, boxes, Array.from({ length: n }, (_, i) => i), [h, w]);
    const flipped = tf.image.flipLeftRight(cropped);
    const mask = tf.tensor1d(flips.map((f) => (f ? 1 : 0)), 'float32').reshape([n, 1, 1, 1]);
    return flipped.mul(mask).add(cropped.mul(tf.scalar(1).sub(mask))) as tf.Tensor4D;
  });
}

/**
 * The same idea for small grayscale images in place, on the CPU: a random horizontal flip
 * and a shift of up to `maxShift` pixels (edges filled with 0), seeded per batch.
 */
export function flipAndShiftInPlace(x: Float32Array, n: number, h: number, w: number, seed: number, maxShift = 2): void {
  const random = seededRandom(seed);
  const src = new Float32Array(h * w);
  for (let i = 0; i < n; i++) {
    const image = x.subarray(i * h * w, (i + 1) * h * w);
    src.set(image);
    const flip = random() < 0.5;
    const dy = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
    const dx = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
    for (let r = 0; r < h; r++) {
      const sr = r - dy;
      for (let c = 0; c < w; c++) {
        const sc0 = c - dx;
        const sc = flip ? w - 1 - sc0 : sc0;
        image[r * w + c] = sr >= 0 && sr < h && sc >= 0 && sc < w ? src[sr * w + sc] : 0;
      }
    }
  }
}
