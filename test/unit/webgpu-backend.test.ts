import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, NO_WEBGPU_ADAPTER } from '../../lib/tf/backend';

// Dawn (the `webgpu` package) is not a dependency: it ships in the GPU worker bundle only.
// To run these, point NODE_PATH at a node_modules that has it, e.g. the one
// scripts/gpu-bundle.sh stages under dist-bundle/.
const dawnInstalled = (() => {
  try {
    require.resolve('webgpu');
    return true;
  } catch {
    return false;
  }
})();
const skip = !dawnInstalled && 'the webgpu package (Dawn) is not installed';

test('forced webgpu either runs on a Dawn adapter or fails saying no adapter was found', { skip }, async () => {
  let choice;
  try {
    choice = await initBackend({ queue: 'gpu', forced: 'webgpu' });
  } catch (err) {
    // A machine without a usable Vulkan driver (e.g. only lavapipe): the reason names the fix.
    assert.match((err as Error).message, /^TL_BACKEND=webgpu: /);
    assert.ok((err as Error).message.endsWith(NO_WEBGPU_ADAPTER), (err as Error).message);
    return;
  }
  assert.deepEqual([choice.name, tf.getBackend()], ['webgpu', 'webgpu']);
  const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
  assert.deepEqual(Array.from(await y.data()), [17, 39]);
});

test('auto on the gpu queue records why webgpu was passed over and still gets a backend', { skip }, async () => {
  const choice = await initBackend({ queue: 'gpu', forced: 'auto' });
  const webgpu = choice.tried.find((t) => t.name === 'webgpu');
  if (choice.name === 'webgpu') return assert.equal(webgpu?.error, undefined);
  if (choice.name === 'tensorflow') return; // native TensorFlow wins before webgpu is tried
  assert.equal(webgpu?.error, NO_WEBGPU_ADAPTER);
  assert.ok(['wasm', 'cpu'].includes(choice.name));
});
