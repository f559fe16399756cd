// Test-time augmentation: a model's class probabilities averaged over views of each image —
// the image itself, its mirror image, and five crops (centre and corners, 87.5 % of each
// side) scaled back to the input size. Views are predicted one after another, so memory
// stays that of one view.
import * as tf from '@tensorflow/tfjs';
import { predictBatch } from './inference';

export const TTA_CROP = 0.875;
export const TTA_VIEWS = ['image', 'mirror', 'centre', 'top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;
type View = (typeof TTA_VIEWS)[number];

/** Normalised [y1, x1, y2, x2] crop boxes. */
function box(view: Exclude<View, 'image' | 'mirror'>): [number, number, number, number] {
  const c = TTA_CROP;
  const m = (1 - c) / 2;
  switch (view) {
    case 'centre':
      return [m, m, 1 - m, 1 - m];
    case 'top-left':
      return [0, 0, c, c];
    case 'top-right':
      return [0, 1 - c, c, 1];
    case 'bottom-left':
      return [1 - c, 0, 1, c];
    case 'bottom-right':
      return [1 - c, 1 - c, 1, 1];
  }
}

/** One view of a batch of model inputs [n, h, w, c] (already scaled). */
export function ttaView(x: tf.Tensor4D, view: View): tf.Tensor4D {
  if (view === 'image') return x.clone();
  if (view === 'mirror') return tf.image.flipLeftRight(x);
  const [n, h, w] = x.shape;
  return tf.tidy(() => {
    const boxes = tf.tensor2d(Array.from({ length: n }, () => box(view)), [n, 4]);
    const indices = tf.tensor1d(Array.from({ length: n }, (_, i) => i), 'int32');
    return tf.image.cropAndResize(x, boxes, indices, [h, w], 'bilinear');
  });
}

/** Mean class probabilities over every TTA view: [n, classes]. */
export function predictWithTta(model: tf.LayersModel, input: tf.Tensor): tf.Tensor2D {
  if (input.rank !== 4) throw new Error(`test-time augmentation needs images [n,h,w,c], got [${input.shape}]`);
  const x = input as tf.Tensor4D;
  let sum: tf.Tensor | undefined;
  for (const view of TTA_VIEWS) {
    const probs = tf.tidy(() => predictBatch(model, ttaView(x, view)));
    if (!sum) sum = probs;
    else {
      const next = tf.add(sum, probs);
      tf.dispose([sum, probs]);
      sum = next;
    }
  }
  const mean = tf.div(sum!, TTA_VIEWS.length) as tf.Tensor2D;
  sum!.dispose();
  return mean;
}
