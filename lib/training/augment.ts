// Training-time augmentation, seeded so a resumed epoch sees the same batches: for photos,
// random horizontal flips and random crops (80–100% of each side, resized back); for small
// grayscale images (the lab CNN), flips, shifts and random erasing in place.
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

/** What the in-place augmentation of small grayscale images does to each image. */
export interface SmallImageAugment {
  /** Mirror half of the images left–right. */
  flip: boolean;
  /** Shift each image by up to this many pixels each way (edges filled with 0). */
  maxShift: number;
  /** Probability of erasing one random rectangle (2–20% of the image, aspect 1:3–3:1) to 0. */
  erase?: number;
}

/**
 * The same idea for small grayscale images in place, on the CPU: a random horizontal flip,
 * a shift and random erasing, seeded per batch (one draw sequence, so a seed fixes the batch).
 */
export function augmentSmallImagesInPlace(x: Float32Array, n: number, h: number, w: number, seed: number, how: SmallImageAugment): void {
  const random = seededRandom(seed);
  const src = new Float32Array(h * w);
  for (let i = 0; i < n; i++) {
    const image = x.subarray(i * h * w, (i + 1) * h * w);
    const flip = how.flip && random() < 0.5;
    const dy = Math.floor(random() * (2 * how.maxShift + 1)) - how.maxShift;
    const dx = Math.floor(random() * (2 * how.maxShift + 1)) - how.maxShift;
    if (flip || dy !== 0 || dx !== 0) {
      src.set(image);
      for (let r = 0; r < h; r++) {
        const sr = r - dy;
        for (let c = 0; c < w; c++) {
          const sc0 = c - dx;
          const sc = flip ? w - 1 - sc0 : sc0;
          image[r * w + c] = sr >= 0 && sr < h && sc >= 0 && sc < w ? src[sr * w + sc] : 0;
        }
      }
    }
    if (how.erase && random() < how.erase) eraseRectangle(image, h, w, random);
  }
}

/** Random erasing (Zhong et al., 2017): one rectangle of random area and aspect set to 0. */
function eraseRectangle(image: Float32Array, h: number, w: number, random: () => number): void {
  const area = h * w * (0.02 + 0.18 * random());
  const aspect = Math.exp(Math.log(1 / 3) + Math.log(9) * random());
  const eh = Math.max(1, Math.min(h, Math.round(Math.sqrt(area * aspect))));
  const ew = Math.max(1, Math.min(w, Math.round(Math.sqrt(area / aspect))));
  const top = Math.floor(random() * (h - eh + 1));
  const left = Math.floor(random() * (w - ew + 1));
  for (let r = top; r < top + eh; r++) image.fill(0, r * w + left, r * w + left + ew);
}
