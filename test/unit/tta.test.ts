// Test-time augmentation: the views are what they say, and the prediction is their mean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { TTA_VIEWS, predictWithTta, ttaView } from '../../lib/models/tta';

/** One 8×8 single-channel image whose pixel (y, x) holds 10·y + x. */
const gradient = () => tf.tensor4d(Array.from({ length: 64 }, (_, i) => 10 * Math.floor(i / 8) + (i % 8)), [1, 8, 8, 1]);

test('mirror flips left-right; corner crops come from their corner; sizes are kept', () => {
  const x = gradient();
  const mirror = ttaView(x, 'mirror').arraySync()[0];
  assert.deepEqual(mirror[0].map((p) => p[0]), [7, 6, 5, 4, 3, 2, 1, 0]);
  for (const view of TTA_VIEWS) assert.deepEqual(ttaView(x, view).shape, [1, 8, 8, 1], view);
  const tl = ttaView(x, 'top-left').arraySync()[0];
  const br = ttaView(x, 'bottom-right').arraySync()[0];
  assert.equal(tl[0][0][0], 0, 'top-left crop starts at the top-left pixel');
  assert.equal(br[7][7][0], 77, 'bottom-right crop ends at the bottom-right pixel');
  assert.ok(tl[7][7][0] < 77 && br[0][0][0] > 0, 'each crop leaves out the opposite edge');
  const centre = ttaView(x, 'centre').arraySync()[0];
  // 1/16 in from each side, in tfjs's (size − 1) pixel coordinates: 0.0625 · 7 · (10 + 1).
  assert.ok(Math.abs(centre[0][0][0] - 4.8125) < 1e-4, `centre crop starts 1/16 in: ${centre[0][0][0]}`);
});

test('the prediction is the mean of the views\' probabilities', () => {
  const input = tf.input({ shape: [8, 8, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 1, stddev: 0.3 }) }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const x = tf.concat([gradient(), tf.reverse(gradient(), 1)]).div(77).sub(0.5) as tf.Tensor4D; // centred and small: logits far from saturation
  const expected = tf.tidy(() => tf.stack(TTA_VIEWS.map((v) => model.predict(ttaView(x, v)) as tf.Tensor)).mean(0));
  const got = predictWithTta(model, x);
  assert.deepEqual(got.shape, [2, 3]);
  const diff = tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0];
  assert.ok(diff < 1e-6, `max difference ${diff}`);
  const plain = model.predict(x) as tf.Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(got, plain))).dataSync()[0] > 1e-4, 'a position-sensitive model sees the views differ');
  assert.throws(() => predictWithTta(model, tf.zeros([2, 64])), /needs images \[n,h,w,c\]/);
});
