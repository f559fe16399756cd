// Helpers for tests that run the same computation on two TensorFlow.js backends.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

/** Deterministic pseudo-random normals, so both backends get identical inputs. */
export function randn(shape: number[], seed: number): { data: Float32Array; shape: number[] } {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  for (let i = 0; i < n; i++) data[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return { data, shape };
}

export const tensorOf = (r: { data: Float32Array; shape: number[] }) => tf.tensor(r.data, r.shape);

/** Runs f with `backend` active and returns its outputs' values. */
export async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const values = await Promise.all(out.map((o) => o.data() as Promise<Float32Array>));
  tf.dispose(out);
  return values;
}

/** max |a − e| ≤ rtol · max(1, max |e|), with the same length. */
export function assertClose(actual: Float32Array, expected: Float32Array, what: string, rtol = 1e-4) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  assert.ok(diff <= rtol * scale, `${what}: max abs diff ${diff} > ${rtol} × ${scale}`);
}

/** Runs f on `backend` and on cpu and checks every output agrees. */
export async function compareWithCpu(backend: string, what: string, f: () => tf.Tensor[], rtol?: number) {
  const [actual, cpu] = [await on(backend, f), await on('cpu', f)];
  assert.equal(actual.length, cpu.length, `${what}: output count`);
  actual.forEach((a, i) => assertClose(a, cpu[i], `${what} [output ${i}]`, rtol));
}

function labCnn(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], kernelSize: 5, filters: 16, strides: 1, padding: 'same' }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.activation({ activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  m.add(tf.layers.conv2d({ kernelSize: 5, filters: 32, padding: 'same' }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.activation({ activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

/** One SGD and one Adam training step of the lab CNN: loss and every weight (BN moving statistics included) as on cpu. */
export async function assertLabCnnStepMatchesCpu(backend: string): Promise<void> {
  const batch = 4; // the cpu backend takes ~0.3 s per image here
  const x = randn([batch, 28, 28, 1], 17);
  const labels = Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  let initial: Float32Array[] | null = null;
  const step = async (name: string, optimizer: () => tf.Optimizer) => {
    await tf.setBackend(name);
    const model = labCnn();
    // Values are read with data(), not dataSync(): webgpu in Node has no synchronous read.
    if (initial) model.setWeights(initial.map((w, i) => tf.tensor(w, model.getWeights()[i].shape)));
    else initial = await Promise.all(model.getWeights().map((w) => w.data() as Promise<Float32Array>));
    model.compile({ optimizer: optimizer(), loss: 'categoricalCrossentropy' });
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
    const loss = (await model.trainOnBatch(tensorOf(x), ys)) as number;
    const weights = await Promise.all(model.weights.map(async (w) => ({ name: w.name, values: (await w.read().data()) as Float32Array })));
    model.dispose();
    return { loss, weights };
  };
  for (const [name, opt] of [['sgd', () => tf.train.sgd(0.1)], ['adam', () => tf.train.adam(0.001)]] as const) {
    initial = null;
    const cpu = await step('cpu', opt);
    const other = await step(backend, opt);
    assert.ok(Math.abs(other.loss - cpu.loss) <= 1e-4 * Math.max(1, cpu.loss), `${name} loss ${other.loss} vs ${cpu.loss}`);
    assert.equal(other.weights.length, cpu.weights.length);
    other.weights.forEach((w, i) => {
      if (name === 'sgd') return assertClose(w.values, cpu.weights[i].values, `${name} ${w.name}`, 1e-4);
      // Adam's first step is ≈ lr·sign(g): where a gradient is rounding noise (a conv bias
      // feeding batch norm, which cancels it; now and then a kernel element) its sign, and so
      // the step, may flip between backends (2·lr). Allow that for a few elements only.
      const expected = cpu.weights[i].values;
      assertClose(w.values, expected, `${name} ${w.name}`, 2.5e-3);
      const off = w.values.filter((v, j) => Math.abs(v - expected[j]) > 1e-4).length;
      const allowed = /conv2d.*bias/.test(w.name) ? w.values.length : Math.max(1, Math.ceil(0.01 * w.values.length));
      assert.ok(off <= allowed, `${name} ${w.name}: ${off} of ${w.values.length} values differ by more than 1e-4`);
    });
  }
}
