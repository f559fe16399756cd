// The wasm gradient kernels against the cpu backend's, on the same inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradientKernels } from '../../lib/tf/wasm-gradients';
import { assertLabCnnStepMatchesCpu, compareWithCpu, randn, tensorOf } from './backend-compare';

const registered = registerWasmGradientKernels();

const t = tensorOf;
const compare = (what: string, f: () => tf.Tensor[], rtol?: number) => compareWithCpu('wasm', what, f, rtol);

test('registers the kernels wasm lacks, idempotently', () => {
  for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
    assert.ok(registered.includes(k), k);
  }
  assert.deepEqual(registerWasmGradientKernels(), registered);
  for (const k of registered) assert.ok(tf.getKernel(k, 'wasm'), k);
});

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const convCases: { x: number[]; w: number[]; s: number; pad: Pad }[] = [
  { x: [2, 7, 7, 3], w: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [3, 9, 8, 3], w: [3, 3, 3, 5], s: 2, pad: 'valid' },
  { x: [2, 8, 9, 2], w: [5, 5, 2, 4], s: 2, pad: 'same' },
  { x: [2, 10, 10, 2], w: [5, 5, 2, 3], s: 1, pad: 'valid' },
  { x: [2, 10, 11, 2], w: [4, 4, 2, 3], s: 3, pad: 'same' },
  { x: [2, 9, 9, 2], w: [3, 3, 2, 3], s: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [4, 12, 12, 1], w: [5, 5, 1, 8], s: 1, pad: 'same' }, // one input channel (own dx path)
];

for (const c of convCases) {
  test(`conv2d gradients x${c.x} w${c.w} stride ${c.s} ${JSON.stringify(c.pad)}`, async () => {
    await compare('conv2d dx, dW', () => {
      const x = t(randn(c.x, 1));
      const w = t(randn(c.w, 2));
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
      const r = t(randn(y.shape, 3)); // a random dy
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)))([x, w]);
    });
  });
}

const depthwiseCases: { x: number[]; w: number[]; s: number; pad: 'same' | 'valid' }[] = [
  { x: [2, 7, 7, 3], w: [3, 3, 3, 1], s: 1, pad: 'same' },
  { x: [3, 9, 8, 3], w: [3, 3, 3, 2], s: 2, pad: 'valid' },
  { x: [2, 8, 9, 4], w: [3, 3, 4, 1], s: 2, pad: 'same' },
  { x: [2, 10, 10, 2], w: [5, 5, 2, 3], s: 1, pad: 'valid' },
];

for (const c of depthwiseCases) {
  test(`depthwise gradients x${c.x} w${c.w} stride ${c.s} ${c.pad}`, async () => {
    await compare('depthwise dx, dW', () => {
      const x = t(randn(c.x, 4));
      const w = t(randn(c.w, 5));
      const y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
      const r = t(randn(y.shape, 6));
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)))([x, w]);
    });
  });
}

// tfjs has no dilated depthwise gradient (and cpu's kernels ignore dilation), so check the
// kernels by adjointness instead: <dx, v> = <dy, conv(v, W)> and <dW, u> = <dy, conv(x, u)>.
test('dilated depthwise gradient kernels are adjoint to the forward conv', async () => {
  await tf.setBackend('wasm');
  for (const [pad, mult] of [['same', 3], ['valid', 1]] as const) {
    tf.tidy(() => {
      const xs = [2, 9, 9, 2], ws = [3, 3, 2, mult];
      const attrs = { strides: 1, pad, dilations: 2 };
      const x = t(randn(xs, 7)) as tf.Tensor4D, w = t(randn(ws, 8)) as tf.Tensor4D;
      const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.depthwiseConv2d(a, b, 1, pad, 'NHWC', 2);
      const dy = t(randn(conv(x, w).shape, 9));
      const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xs }) as tf.Tensor;
      const dW = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: ws }) as tf.Tensor;
      const v = t(randn(xs, 10)) as tf.Tensor4D, u = t(randn(ws, 11)) as tf.Tensor4D;
      const dot = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(a, b)).dataSync()[0];
      const check = (lhs: number, rhs: number, what: string) => assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(rhs)), `${what} ${pad}: ${lhs} vs ${rhs}`);
      check(dot(dx, v), dot(dy, conv(v, w)), 'dx');
      check(dot(dW, u), dot(dy, conv(x, u)), 'dW');
    });
  }
});

const poolCases: { x: number[]; k: number; s: number; pad: 'same' | 'valid' }[] = [
  { x: [2, 8, 8, 3], k: 2, s: 2, pad: 'valid' },
  { x: [2, 9, 9, 3], k: 3, s: 2, pad: 'same' },
  { x: [3, 7, 6, 2], k: 3, s: 1, pad: 'valid' }, // overlapping windows
];

for (const c of poolCases) {
  test(`maxPool gradient x${c.x} ${c.k}/${c.s} ${c.pad} (with ReLU ties)`, async () => {
    await compare('maxPool dx', () => {
      const x = tf.relu(t(randn(c.x, 12))) as tf.Tensor4D; // half zeros: ties must go to the first max
      return [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad), t(randn(tf.maxPool(x, c.k, c.s, c.pad).shape, 13)))))(x)];
    });
  });
}

test('Tile, Sum and Mean fast paths agree with cpu (and fall back for other cases)', async () => {
  await compare('tile/sum/mean', () => {
    const x = t(randn([3, 4, 5, 6], 14));
    const ints = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    return [
      tf.sum(x, [0, 1, 2]), tf.sum(x, [1, 0], true), tf.sum(x), tf.sum(x, [1, 2]), tf.sum(x, -1),
      tf.mean(x, [0, 1, 2]), tf.mean(x, 0, true), tf.mean(x, [2, 3]),
      tf.tile(t(randn([2, 1, 3], 15)), [3, 4, 2]), tf.tile(t(randn([1, 1, 1, 4], 16)), [5, 3, 2, 1]),
      tf.tile(ints, [2, 2]), tf.sum(ints, 0), tf.tile(tf.tensor([true, false], [2], 'bool'), [3]),
    ];
  });
});

/** The lab CNN, as the app builds it. */
test('one training step of the lab CNN on wasm matches cpu', async () => {
  await assertLabCnnStepMatchesCpu('wasm');
});
