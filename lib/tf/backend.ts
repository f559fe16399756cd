// Picks the TensorFlow.js backend when a worker starts. Native TensorFlow (tfjs-node-gpu or
// tfjs-node) and WebGPU are optional packages, usually absent; wasm is the portable fast path
// and gets the gradient kernels it lacks; cpu is the last resort. A backend forced through
// TL_BACKEND must load or the worker fails: there is no silent fallback.
import * as tf from '@tensorflow/tfjs';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import type { Worker } from 'node:worker_threads';
import { registerNativeKernels } from './native-kernels';
import { registerWasmGradientKernels } from './wasm-gradients';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/**
 * One way to get a backend. Native TensorFlow comes in two builds that register the same
 * tfjs backend ('tensorflow'): the CUDA build (tfjs-node-gpu) and the CPU build (tfjs-node).
 */
export type BackendCandidate = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

const REGISTERS: Record<BackendCandidate, BackendName> = {
  'tensorflow-gpu': 'tensorflow',
  webgpu: 'webgpu',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** What each candidate is, for people reading a log or a report. */
const BUILDS: Record<BackendCandidate, string> = {
  'tensorflow-gpu': 'tfjs-node-gpu, native CUDA build',
  webgpu: 'Dawn over Vulkan',
  tensorflow: 'tfjs-node, native CPU build',
  wasm: 'XNNPACK',
  cpu: 'plain JavaScript',
};

export interface BackendChoice {
  name: BackendName;
  /** Which way of getting `name` loaded (tensorflow-gpu and tensorflow both register 'tensorflow'). */
  candidate: BackendCandidate;
  /** Every candidate attempted, in order; failed ones carry the reason. */
  tried: { name: BackendCandidate; error?: string }[];
  /** wasm only: XNNPACK threads in use. */
  threads?: number;
  /** webgpu only: the adapter Dawn found, as it describes itself. */
  adapter?: string;
}

/** One line for logs: "wasm, 2 thread(s)", "tensorflow (tfjs-node, native CPU build)", "webgpu on NVIDIA H100 …". */
export function describeBackend(choice: BackendChoice): string {
  const build = REGISTERS[choice.candidate] === 'tensorflow' ? ` (${BUILDS[choice.candidate]})` : '';
  return `${choice.name}${build}${choice.threads ? `, ${choice.threads} thread(s)` : ''}${choice.adapter ? ` on ${choice.adapter}` : ''}`;
}

/** The candidates tried before the one that loaded, each with the first line of its reason. */
export function passedOver(choice: BackendChoice): { name: BackendCandidate; reason: string }[] {
  return choice.tried.filter((t) => t.error !== undefined).map((t) => ({ name: t.name, reason: t.error!.split('\n')[0] }));
}

/** describeBackend plus why the faster candidates were passed over: for reports and `tl worker --json`. */
export function backendSummary(choice: BackendChoice): string {
  const skipped = passedOver(choice);
  return skipped.length ? `${describeBackend(choice)}; passed over ${skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}` : describeBackend(choice);
}

/**
 * Fastest first, so a worker never runs below the best backend this machine can load. A GPU
 * worker without CUDA or a hardware WebGPU adapter still gets native TensorFlow on the CPU,
 * which trains several times faster than wasm.
 */
export function backendPreference(queue: 'cpu' | 'gpu'): BackendCandidate[] {
  return queue === 'gpu' ? ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] : ['tensorflow', 'wasm', 'cpu'];
}

/** TL_BACKEND=tensorflow on a GPU worker takes either native build, the CUDA one first. */
function candidatesFor(queue: 'cpu' | 'gpu', forced: 'auto' | BackendName): BackendCandidate[] {
  if (forced === 'auto') return backendPreference(queue);
  const matching = backendPreference(queue).filter((c) => REGISTERS[c] === forced);
  return matching.length ? matching : [forced];
}

export async function initBackend(opts: { queue: 'cpu' | 'gpu'; forced: 'auto' | BackendName }): Promise<BackendChoice> {
  const { queue, forced } = opts;
  const tried: BackendChoice['tried'] = [];
  for (const candidate of candidatesFor(queue, forced)) {
    try {
      const { threads, adapter } = await load(candidate, forced !== 'auto');
      tried.push({ name: candidate });
      return { name: REGISTERS[candidate], candidate, tried, ...(threads ? { threads } : {}), ...(adapter ? { adapter } : {}) };
    } catch (err) {
      tried.push({ name: candidate, error: err instanceof Error ? err.message : String(err) });
    }
  }
  const reasons = tried.map((t) => `${t.name}: ${t.error}`).join('; ');
  if (forced !== 'auto') throw new Error(`TL_BACKEND=${forced}: the '${forced}' backend could not be loaded: ${reasons}`);
  throw new Error(`no TensorFlow.js backend could be loaded: ${reasons}`);
}

// A variable module name keeps tsc from needing the optional packages' types.
const optionalRequire = (id: string): unknown => require(id);

async function load(candidate: BackendCandidate, forced: boolean): Promise<{ threads?: number; adapter?: string }> {
  switch (candidate) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      optionalRequire(candidate === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      await activate('tensorflow');
      registerNativeKernels();
      return {};
    case 'webgpu': {
      const adapter = await installDawn({ allowSoftware: forced });
      optionalRequire('@tensorflow/tfjs-backend-webgpu');
      await activate('webgpu');
      return { adapter };
    }
    case 'wasm':
      return loadWasm();
    case 'cpu':
      await activate('cpu');
      return {};
  }
}

export const NO_WEBGPU_ADAPTER = "Dawn found no WebGPU adapter (Vulkan driver? set VK_DRIVER_FILES to the driver's ICD json)";

/** Why `auto` passes over a CPU-only Vulkan driver such as Mesa's lavapipe. */
export const softwareAdapterMessage = (adapter: string) =>
  `Dawn's only adapter runs on the CPU (${adapter}), slower than the CPU backends; TL_BACKEND=webgpu uses it anyway`;

type AdapterInfo = { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
type Gpu = { requestAdapter: () => Promise<{ info: AdapterInfo } | null> };
type Dawn = { create: (flags: string[]) => Gpu; globals: Record<string, unknown> };

/**
 * Node has no WebGPU of its own: the optional `webgpu` package (Dawn, over Vulkan) provides
 * navigator.gpu, which tfjs-backend-webgpu looks for. Checking for an adapter first turns
 * tfjs's vague "WebGPU is not supported" into a reason someone can act on. Returns the
 * adapter's description.
 */
async function installDawn(opts: { allowSoftware: boolean }): Promise<string> {
  const g = globalThis as { navigator?: { gpu?: Gpu } };
  if (!g.navigator?.gpu) {
    const { create, globals } = optionalRequire('webgpu') as Dawn; // an ES module: needs Node >= 20.19 (require of ESM)
    Object.assign(globalThis, globals);
    // Node 21+ has a read-only navigator: define rather than assign.
    Object.defineProperty(globalThis, 'navigator', { value: { ...g.navigator, gpu: create([]) }, configurable: true, writable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (!adapter) throw new Error(NO_WEBGPU_ADAPTER);
  const { description, vendor, device, isFallbackAdapter } = adapter.info;
  const name = description || [vendor, device].filter(Boolean).join(' ') || 'unnamed adapter';
  if (isFallbackAdapter && !opts.allowSoftware) throw new Error(softwareAdapterMessage(name));
  return name;
}

/** tf.setBackend only logs why a backend failed; on failure, rerun its factory to get the reason. */
async function activate(name: string): Promise<void> {
  const factory = tf.findBackendFactory(name);
  if (!factory) throw new Error(`no '${name}' backend is registered with @tensorflow/tfjs ${tf.version.tfjs} (package version mismatch?)`);
  if (await tf.setBackend(name)) {
    await tf.ready();
    return;
  }
  try {
    (await factory()).dispose();
  } catch (err) {
    throw new Error(`initialization failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  throw new Error('initialization failed (tf.setBackend returned false)');
}

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

async function loadWasm(): Promise<{ threads: number }> {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as WasmModule;
  registerWasmGradientKernels(); // before init, so replaced kernels' setup still runs
  const wanted = wasmThreadsWanted();
  if (wanted > 1 && !('wasm' in tf.engine().registry)) {
    try {
      await withThreadedWasm(wanted, () => activate('wasm'));
    } catch {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // e.g. no writable tmpdir: one thread
      await activate('wasm');
    }
  } else {
    await activate('wasm');
  }
  return { threads: wasm.getThreadsCount() };
}

/** TL_WASM_THREADS if set (1 = single-threaded build), else one per core, at most 8 (emscripten's pool). */
function wasmThreadsWanted(): number {
  const env = Number(process.env.TL_WASM_THREADS);
  const n = Number.isInteger(env) && env > 0 ? env : os.availableParallelism?.() ?? os.cpus().length;
  return Math.min(Math.max(n, 1), 8);
}

/**
 * tfjs-backend-wasm ships a threaded build but disables it in Node, for three reasons we
 * work around only while the backend initializes: its feature flag says "no threads" when
 * IS_NODE; it hands emscripten's pthread worker script over as a blob: URL, which Node's
 * worker_threads refuses (so we write that script, and the glue it loads, to files); and
 * it caps threads at half the logical cores it sees (so it is shown twice as many).
 * Measured on 2 cores: XNNPACK convolutions run ~1.8× faster with 2 threads.
 */
async function withThreadedWasm(threads: number, init: () => Promise<void>): Promise<void> {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as WasmModule;
  const workerPath = writeThreadScripts();
  const { createObjectURL } = URL;
  const { cpus } = os;
  const real = cpus();
  URL.createObjectURL = (obj: Blob) => (obj instanceof Blob && /javascript/.test(obj.type) ? workerPath : createObjectURL(obj));
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  try {
    await init();
  } finally {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
  // emscripten ref()s a Node worker while it runs a pthread, and XNNPACK's pool threads
  // never end, so the process would never exit: let the workers die with the process.
  type PThreads = { runningWorkers: Worker[]; unusedWorkers: Worker[] };
  const pthread = (tf.backend() as unknown as { wasm?: { PThread?: PThreads } }).wasm?.PThread;
  for (const w of [...(pthread?.runningWorkers ?? []), ...(pthread?.unusedWorkers ?? [])]) {
    w.unref();
    w.ref = () => undefined; // a pthread that starts later must not ref it again
  }
}

/** Writes the pthread worker script and the threaded glue it imports; returns the worker's path. */
function writeThreadScripts(): string {
  const out = path.join(os.tmpdir(), `tl-wasm-threads-${process.pid}`);
  const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const factory = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js')) as { default?: () => void };
  fs.mkdirSync(out, { recursive: true });
  const gluePath = path.join(out, 'glue.js');
  const workerPath = path.join(out, 'worker.js');
  fs.writeFileSync(gluePath, `var WasmBackendModuleThreadedSimd = ${(factory.default ?? factory).toString()};`);
  // As tfjs does for its blob; then make the worker load the glue from its file, whatever
  // it is handed (emscripten posts it the main script as a Blob it cannot read in Node).
  fs.writeFileSync(workerPath, `${wasmWorkerContents.replace(/\n/g, '\\n')}
importScripts = function () { (0, eval)(require('fs').readFileSync(${JSON.stringify(gluePath)}, 'utf8')); };
URL.createObjectURL = function () { return ''; };
URL.revokeObjectURL = function () {};
`);
  process.once('exit', () => fs.rmSync(out, { recursive: true, force: true }));
  return workerPath;
}
