// The webgpu backend (Dawn over Vulkan) computes what the other backends compute. Dawn and
// tfjs-backend-webgpu are not dependencies (the GPU bundle ships them); scripts/webgpu-backend.sh
// installs them here with a software Vulkan driver, so these run without a GPU.
import { test, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, NO_WEBGPU_ADAPTER, softwareAdapterMessage } from '../../lib/tf/backend';
import { HEAD_LAYER_NAME, applyStage, buildFineTuneModel } from '../../lib/models/fine-tune';
import { loadBackbone } from '../../lib/models/backbone';
import { runEpochs } from '../../lib/training/epochs';
import { assertClose, assertLabCnnStepMatchesCpu, randn, tensorOf } from './backend-compare';
import { SOFTWARE_VULKAN_ICD, useVulkanDriver, webgpuInstalled } from '../software-vulkan';

const MOBILENET_V1 = path.resolve(__dirname, '../../../../shared/data/models/mobilenet_v1_0.25_224');
const installed = webgpuInstalled();
const driverKnown = installed && useVulkanDriver();
/** The adapter a forced webgpu found, as it names itself. */
let adapter: string | undefined;
/** Skips the test (true) when there is no adapter to run it on; known only once before() ran. */
function noAdapter(t: TestContext): boolean {
  const why = !installed ? 'the webgpu packages are not installed (scripts/webgpu-backend.sh)' : !adapter ? 'no WebGPU adapter (no Vulkan driver Dawn accepts)' : '';
  if (why) t.skip(why);
  return why !== '';
}

before(async () => {
  if (!installed) return;
  try {
    adapter = (await initBackend({ queue: 'gpu', forced: 'webgpu' })).adapter;
  } catch {
    // reported by the first test
  }
});

test('forced webgpu runs on a Dawn adapter, or fails saying no adapter was found', { skip: !installed && 'the webgpu packages are not installed' }, async () => {
  let choice;
  try {
    choice = await initBackend({ queue: 'gpu', forced: 'webgpu' });
  } catch (err) {
    // With a driver set (a GPU's or scripts/webgpu-backend.sh's lavapipe) it must work.
    assert.ok(!driverKnown, `VK_DRIVER_FILES=${process.env.VK_DRIVER_FILES} is set, yet: ${(err as Error).message}`);
    assert.match((err as Error).message, /^TL_BACKEND=webgpu: /);
    assert.ok((err as Error).message.endsWith(NO_WEBGPU_ADAPTER), (err as Error).message);
    return;
  }
  assert.deepEqual([choice.name, tf.getBackend()], ['webgpu', 'webgpu']);
  assert.ok(choice.adapter, 'the adapter is named');
  const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
  assert.deepEqual(Array.from(await y.data()), [17, 39]);
});

test('auto on the gpu queue records why webgpu was passed over and still gets a backend', { skip: !installed && 'the webgpu packages are not installed' }, async () => {
  const choice = await initBackend({ queue: 'gpu', forced: 'auto' });
  const webgpu = choice.tried.find((t) => t.name === 'webgpu');
  if (choice.name === 'webgpu') return assert.equal(webgpu?.error, undefined);
  if (choice.name === 'tensorflow') return; // native TensorFlow wins before webgpu is tried
  // A software driver (lavapipe) is passed over: wasm is faster on the same CPU.
  const software = process.env.VK_DRIVER_FILES === SOFTWARE_VULKAN_ICD;
  if (software) assert.match(adapter ?? '', /llvmpipe/);
  assert.equal(webgpu?.error, software ? softwareAdapterMessage(adapter!) : NO_WEBGPU_ADAPTER);
  assert.ok(['wasm', 'cpu'].includes(choice.name));
});

test('one SGD and one Adam step of the lab CNN on webgpu match cpu', async (t) => {
  if (noAdapter(t)) return;
  await assertLabCnnStepMatchesCpu('webgpu');
});

test('runEpochs on webgpu (losses read every 8 batches) reports what cpu reports', async (t) => {
  if (noAdapter(t)) return;
  const data = randn([40, 6], 3);
  const train = async (backend: string) => {
    await tf.setBackend(backend);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })] });
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const losses: number[] = [];
    const records = await runEpochs({
      model,
      trainIndices: Uint32Array.from({ length: 40 }, (_, i) => i),
      batchSize: 4,
      firstEpoch: 1,
      lastEpoch: 2,
      seed: 1,
      makeBatch: (idx) => ({
        x: tf.tensor2d(Array.from(idx, (i) => Array.from(data.data.subarray(6 * i, 6 * i + 6)))),
        y: tf.oneHot(tf.tensor1d(Array.from(idx, (i) => (data.data[6 * i] > 0 ? 1 : i % 3 === 0 ? 2 : 0)), 'int32'), 3),
      }),
      validate: async () => ({ loss: 0, accuracy: 0 }),
      onBatch: (p) => losses.push(p.loss),
    });
    model.dispose();
    return { losses: Float32Array.from(losses), epochLosses: Float32Array.from(records.map((r) => r.loss)) };
  };
  // Count the GPU → CPU reads: one per 8 batches, and one for each epoch's last few.
  const buffer = (globalThis as unknown as { GPUBuffer: { prototype: { mapAsync: (...a: unknown[]) => Promise<void> } } }).GPUBuffer.prototype;
  const mapAsync = buffer.mapAsync;
  let reads = 0;
  buffer.mapAsync = function (this: unknown, ...args: unknown[]) {
    reads++;
    return mapAsync.apply(this, args);
  };
  let gpu;
  try {
    gpu = await train('webgpu');
  } finally {
    buffer.mapAsync = mapAsync;
  }
  assert.equal(reads, 4, '10 batches per epoch: reads after batches 8 and 10, in each of 2 epochs');
  const cpu = await train('cpu');
  assert.equal(gpu.losses.length, 20);
  assertClose(gpu.losses, cpu.losses, 'batch losses', 1e-4);
  assertClose(gpu.epochLosses, cpu.epochLosses, 'epoch losses', 1e-4);
  assert.ok(gpu.epochLosses[1] < gpu.epochLosses[0], `it learns: ${gpu.epochLosses.join(' → ')}`);
});

test('a fine-tuning step of MobileNet (top 20 layers and the head) on webgpu matches a CPU backend', {
  skip: !fs.existsSync(MOBILENET_V1) && 'needs ../shared/data/models/mobilenet_v1_0.25_224',
}, async (t) => {
  if (noAdapter(t)) return;
  // The reference: native TensorFlow where installed, else wasm (both checked against cpu
  // elsewhere); the cpu backend itself would take minutes at 224².
  const reference = await initBackend({ queue: 'cpu', forced: 'auto' });
  const step = async (backend: string) => {
    await tf.setBackend(backend);
    const { body } = await loadBackbone(MOBILENET_V1, {});
    const model = buildFineTuneModel(body, 3, { seed: 1 });
    applyStage(model, { name: 'top', unfreeze: { topLayers: 20 }, epochs: 1, learningRate: 1e-3 }, [HEAD_LAYER_NAME]);
    model.compile({ optimizer: tf.train.sgd(1e-2), loss: 'categoricalCrossentropy' });
    const x = tf.tidy(() => tf.tanh(tensorOf(randn([4, 224, 224, 3], 5))));
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
    const loss = (await model.trainOnBatch(x, y)) as number;
    const weights = await Promise.all(model.trainableWeights.map(async (w) => ({ name: w.name, values: (await w.read().data()) as Float32Array })));
    tf.dispose([x, y]);
    model.dispose();
    return { loss, weights };
  };
  const expected = await step(reference.name);
  const actual = await step('webgpu');
  assert.ok(Math.abs(actual.loss - expected.loss) <= 1e-4 * Math.max(1, expected.loss), `loss ${actual.loss} vs ${expected.loss} on ${reference.name}`);
  assert.equal(actual.weights.length, expected.weights.length);
  assert.ok(actual.weights.length > 2, 'body layers train too');
  actual.weights.forEach((w, i) => assertClose(w.values, expected.weights[i].values, `${w.name} after one step`, 1e-4));
});
