// `--stored-size`: images stored smaller than the backbone's input, resized up when used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { storedImageSize } from '../../contracts';
import { forStoredImages, preprocessImages } from '../../lib/models/backbone';

test('stored size: the longest side capped, the aspect kept; no cap or a larger one keeps the input size', () => {
  assert.deepEqual(storedImageSize([224, 224], 64), [64, 64]);
  assert.deepEqual(storedImageSize([260, 130], 52), [52, 26]);
  assert.deepEqual(storedImageSize([224, 224]), [224, 224]);
  assert.deepEqual(storedImageSize([224, 224], 224), [224, 224]);
  assert.deepEqual(storedImageSize([224, 224], 512), [224, 224]);
});

test('forStoredImages sets storedSize only when the stored images are not the input size', () => {
  const spec = { inputSize: [8, 8] as [number, number], channels: 3, scaling: 'minus1to1' };
  assert.equal(forStoredImages(spec, [8, 8, 3]).storedSize, undefined);
  assert.deepEqual(forStoredImages(spec, [4, 4, 3]).storedSize, [4, 4]);
});

test('stored images are scaled, then resized to the input size; a flat image stays flat, no tensor is left behind', () => {
  const spec = { inputSize: [8, 6] as [number, number], channels: 3, scaling: 'minus1to1', storedSize: [4, 3] as [number, number] };
  const before = tf.memory().numTensors;
  const flat = new Uint8Array(2 * 4 * 3 * 3).fill(255);
  const x = preprocessImages(spec, flat, 2);
  assert.deepEqual(x.shape, [2, 8, 6, 3]);
  const values = x.dataSync();
  assert.ok(values.every((v) => Math.abs(v - 1) < 1e-6), 'white stays at the top of the range');
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
  // Bytes of the wrong size for the stored shape are an error naming the shape.
  assert.throws(() => preprocessImages(spec, new Uint8Array(8 * 6 * 3), 1), /4×3×3 uint8 images/);
});

test('a left-to-right ramp stored small is still a ramp at the input size', () => {
  const spec = { inputSize: [2, 8] as [number, number], channels: 1, scaling: 'zeroTo1', storedSize: [1, 4] as [number, number] };
  const x = preprocessImages(spec, Uint8Array.from([0, 85, 170, 255]), 1);
  const row = Array.from(x.dataSync().slice(0, 8));
  x.dispose();
  for (let i = 1; i < row.length; i++) assert.ok(row[i] >= row[i - 1], `non-decreasing: ${row.join(', ')}`);
  assert.ok(row[0] < 0.05 && row[7] > 0.95, `ends near 0 and 1: ${row.join(', ')}`);
});
