import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { backendPreference, initBackend } from '../../lib/tf/backend';

// The native backend is optional (scripts/native-backend.sh): expectations depend on it.
const nativeInstalled = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

test('backend preference per queue', () => {
  assert.deepEqual(backendPreference('gpu'), ['tensorflow', 'webgpu', 'wasm', 'cpu']);
  assert.deepEqual(backendPreference('cpu'), ['tensorflow', 'wasm', 'cpu']);
});

test('a forced backend that cannot load is an error naming TL_BACKEND, never a fallback', { skip: nativeInstalled && 'tfjs-node is installed' }, async () => {
  await assert.rejects(initBackend({ queue: 'cpu', forced: 'tensorflow' }), (err: Error) => {
    assert.match(err.message, /TL_BACKEND/);
    assert.match(err.message, /tensorflow/);
    assert.match(err.message, /@tensorflow\/tfjs-node/); // the underlying reason
    return true;
  });
  await assert.rejects(initBackend({ queue: 'gpu', forced: 'webgpu' }), /TL_BACKEND=webgpu/);
});

test('auto on the cpu queue resolves to native TensorFlow when installed', { skip: !nativeInstalled && 'tfjs-node is not installed' }, async () => {
  const choice = await initBackend({ queue: 'cpu', forced: 'auto' });
  assert.deepEqual([choice.name, tf.getBackend()], ['tensorflow', 'tensorflow']);
  assert.deepEqual(choice.tried, [{ name: 'tensorflow' }]);
  const forced = await initBackend({ queue: 'cpu', forced: 'tensorflow' });
  assert.equal(forced.name, 'tensorflow');
});

test('a forced backend that is not installed is an error naming TL_BACKEND', async () => {
  await assert.rejects(initBackend({ queue: 'gpu', forced: 'webgpu' }), /TL_BACKEND=webgpu: the 'webgpu' backend could not be loaded/);
});

test('auto on the cpu queue resolves to wasm without tfjs-node, with its gradient kernels', { skip: nativeInstalled && 'tfjs-node is installed' }, async () => {
  const choice = await initBackend({ queue: 'cpu', forced: 'auto' });
  assert.equal(choice.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(choice.tried.map((t) => t.name), ['tensorflow', 'wasm']);
  assert.ok(choice.tried[0].error, 'tensorflow should say why it is unavailable');
  assert.ok(choice.threads !== undefined && choice.threads >= 1);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  // A conv gradient (Conv2DBackpropFilter) runs on it.
  const g = tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 1, 1]));
  assert.deepEqual(Array.from(await g.data()), [9, 12, 9, 12, 16, 12, 9, 12, 9]);
});

test('forcing an available backend uses it', async () => {
  assert.equal((await initBackend({ queue: 'cpu', forced: 'cpu' })).name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  const wasm = await initBackend({ queue: 'gpu', forced: 'wasm' });
  assert.deepEqual([wasm.name, tf.getBackend()], ['wasm', 'wasm']);
});
