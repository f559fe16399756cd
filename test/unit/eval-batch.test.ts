// Evaluation batches are sized by the model's input: memory per pass stays bounded for large images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { evalBatchSize } from '../../lib/models/inference';

const modelOf = (shape: [number, number, number]) => {
  const input = tf.input({ shape });
  return tf.model({ inputs: input, outputs: tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor });
};

test('small images go a thousand at a time, 224×224×3 about fifty (32 MiB of float input), never fewer than one', () => {
  assert.equal(evalBatchSize(modelOf([28, 28, 1])), 1000);
  assert.equal(evalBatchSize(modelOf([224, 224, 3])), Math.floor((32 * 1024 ** 2) / (224 * 224 * 3 * 4)));
  assert.equal(evalBatchSize(modelOf([4096, 4096, 3])), 1);
});
