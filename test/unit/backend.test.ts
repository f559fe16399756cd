import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import fs = require('node:fs');
import { backendPreference, backendSummary, initBackend, passedOver } from '../../lib/tf/backend';

// The native backend is optional (scripts/native-backend.sh): expectations depend on it.
const nativeInstalled = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

const resolves = (id: string) => {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
};
const gpuHere = resolves('@tensorflow/tfjs-node-gpu') || ['/dev/nvidia0', '/dev/dri'].some((p) => fs.existsSync(p));

test('backend preference per queue: CUDA, hardware WebGPU, native CPU, wasm, cpu', () => {
  assert.deepEqual(backendPreference('gpu'), ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
  assert.deepEqual(backendPreference('cpu'), ['tensorflow', 'wasm', 'cpu']);
});

test('a GPU worker without a GPU falls back to the best CPU backend, saying why it passed the GPU ones over', { skip: gpuHere && 'this machine has a GPU' }, async () => {
  const choice = await initBackend({ queue: 'gpu', forced: 'auto' });
  const expected = nativeInstalled ? ['tensorflow-gpu', 'webgpu', 'tensorflow'] : ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm'];
  assert.deepEqual(
    choice.tried.map((t) => t.name),
    expected,
  );
  assert.deepEqual([choice.name, choice.candidate, tf.getBackend()], nativeInstalled ? ['tensorflow', 'tensorflow', 'tensorflow'] : ['wasm', 'wasm', 'wasm']);
  const skipped = passedOver(choice);
  assert.deepEqual(
    skipped.map((s) => s.name),
    expected.slice(0, -1),
  );
  assert.match(skipped[0].reason, /tfjs-node-gpu/);
  for (const s of skipped) assert.ok(s.reason.length > 0 && !s.reason.includes('\n'), `${s.name}: one-line reason`);
  const summary = backendSummary(choice);
  assert.match(summary, nativeInstalled ? /^tensorflow \(tfjs-node, native CPU build\); passed over tensorflow-gpu \(/ : /^wasm, \d+ thread\(s\); passed over tensorflow-gpu \(/);
  assert.match(summary, /webgpu \(/);
});

test('TL_BACKEND=tensorflow on a GPU worker takes the native CPU build when the CUDA one is absent', { skip: (!nativeInstalled || gpuHere) && 'needs tfjs-node without tfjs-node-gpu' }, async () => {
  const choice = await initBackend({ queue: 'gpu', forced: 'tensorflow' });
  assert.deepEqual([choice.name, choice.candidate], ['tensorflow', 'tensorflow']);
  assert.deepEqual(
    choice.tried.map((t) => t.name),
    ['tensorflow-gpu', 'tensorflow'],
  );
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
