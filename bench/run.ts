// `npm run bench`, tl's side: five workloads measured on tl's own code paths (backend as a
// cpu worker picks it, lab CNN, backbone loading and cutting, fine-tune stages, sharp
// decoding), compared with the PyTorch/Pillow figures that bench/peer_pytorch.py measured on
// the same machine just before (`--peer FILE`). Prints the table and writes the results as
// JSON to $TL_BENCH_OUT (default /tmp/tl-bench)/<timestamp>.json and latest.json.
//
// Protocol, the same on both sides: TL_BENCH_WARMUP steps (default 2), then TL_BENCH_REPEATS
// repeats (default 5) that each run whole steps for at least TL_BENCH_MIN_SECONDS (1.5);
// a repeat's figure is images / seconds, and the median of the repeats is reported.
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { describeBackend, initBackend } from '../lib/tf/backend';
import { buildLabCnn } from '../lib/models/lab-cnn';
import { loadBackbone } from '../lib/models/backbone';
import { predictBatch } from '../lib/models/inference';
import { applyStage, buildFineTuneModel, HEAD_LAYER_NAME } from '../lib/models/fine-tune';
import { imageToTensorBytes } from '../lib/data/images/decode';
import pLimit from 'p-limit';
import { runEpochs } from '../lib/training/epochs';

const REPO = path.resolve(__dirname, '..', '..');
const MODEL = process.env.TL_BENCH_MODEL ?? path.resolve(REPO, '../shared/data/models/mobilenet_v1_0.25_224');
const IMAGES = process.env.TL_BENCH_IMAGES ?? path.resolve(REPO, '../shared/data/datasets/hymenoptera_data');
const OUT = process.env.TL_BENCH_OUT ?? '/tmp/tl-bench';
const WARMUP = Number(process.env.TL_BENCH_WARMUP ?? 2);
const REPEATS = Number(process.env.TL_BENCH_REPEATS ?? 5);
const MIN_SECONDS = Number(process.env.TL_BENCH_MIN_SECONDS ?? 1.5);
const CORES = os.availableParallelism();
/** As activities/ingest-images.ts decodes: cores + 2 files in flight. */
const DECODE_CONCURRENCY = Math.max(2, CORES + 2);

interface Measurement {
  median: number;
  samples: number[];
  stepsPerRepeat: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(step: () => Promise<unknown>, imagesPerStep: number): Promise<Measurement> {
  for (let i = 0; i < WARMUP; i++) await step();
  const samples: number[] = [];
  const stepsPerRepeat: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let n = 0;
    let elapsed = 0;
    const start = process.hrtime.bigint();
    do {
      await step();
      n++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < MIN_SECONDS);
    samples.push((n * imagesPerStep) / elapsed);
    stepsPerRepeat.push(n);
  }
  return { median: median(samples), samples, stepsPerRepeat };
}

const randomLabels = (n: number, classes: number) => tf.oneHot(tf.randomUniform([n], 0, classes, 'int32', 7) as tf.Tensor1D, classes);

async function labCnnTrain(): Promise<Measurement> {
  const model = buildLabCnn(42);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([256, 28, 28, 1], 0, 1, 'float32', 1);
  const y = randomLabels(256, 10);
  const m = await measure(() => model.trainOnBatch(x, y), 256);
  tf.dispose([x, y]);
  model.dispose();
  return m;
}

async function labCnnInfer(): Promise<Measurement> {
  const model = buildLabCnn(42);
  const x = tf.randomUniform([1000, 28, 28, 1], 0, 1, 'float32', 2);
  const m = await measure(async () => {
    const p = predictBatch(model, x);
    await p.data();
    p.dispose();
  }, 1000);
  x.dispose();
  model.dispose();
  return m;
}

/**
 * The GPU route: the lab CNN trained on webgpu the way a GPU worker trains, through runEpochs
 * (losses read once per 8 batches). One step is an epoch of 8 batches.
 */
async function webgpuTrain(batch: number): Promise<Measurement> {
  const model = buildLabCnn(42);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = randomLabels(batch, 10);
  const batches = 8;
  const m = await measure(
    () =>
      runEpochs({
        model,
        trainIndices: Uint32Array.from({ length: batches * batch }, (_, i) => i),
        batchSize: batch,
        firstEpoch: 1,
        lastEpoch: 1,
        seed: 1,
        makeBatch: () => ({ x: x.clone(), y: y.clone() }),
        validate: async () => ({ loss: 0, accuracy: 0 }),
      }),
    batches * batch,
  );
  tf.dispose([x, y]);
  model.dispose();
  return m;
}

/**
 * webgpu as a GPU worker's `auto` picks it (a hardware adapter). A software adapter (lavapipe)
 * only with TL_BENCH_WEBGPU=1: it measures the route, not a GPU. TL_BENCH_WEBGPU=0 skips it.
 */
async function webgpuBackend(): Promise<{ adapter?: string; skipped?: string }> {
  if (process.env.TL_BENCH_WEBGPU === '0') return { skipped: 'TL_BENCH_WEBGPU=0' };
  // No GPU device node: skip Dawn's probe of the software drivers (and its warnings).
  const gpuNodes = ['/dev/nvidia0', '/dev/dri'].filter((p) => fs.existsSync(p));
  if (!gpuNodes.length && process.env.TL_BENCH_WEBGPU !== '1') return { skipped: 'no GPU here (no /dev/nvidia0 or /dev/dri)' };
  const auto = await initBackend({ queue: 'gpu', forced: 'auto' }).catch(() => null);
  if (auto?.name === 'webgpu') return { adapter: auto.adapter };
  const why = auto?.tried.find((t) => t.name === 'webgpu')?.error ?? 'not loadable';
  if (process.env.TL_BENCH_WEBGPU !== '1') return { skipped: why };
  const forced = await initBackend({ queue: 'gpu', forced: 'webgpu' }).catch((err: Error) => err);
  return forced instanceof Error ? { skipped: forced.message } : { adapter: forced.adapter };
}

function randomPixels(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 2654435761) >>> 24;
  return bytes;
}

async function mobilenetFeatures(): Promise<Measurement> {
  // As the feature-extraction activity loads it: inference only.
  const backbone = await loadBackbone(MODEL, { cutLayer: 'global_average_pooling2d_1', inferenceOnly: true });
  const pixels = randomPixels(32 * 224 * 224 * 3);
  // As extractFeatures does for a batch: scale the uint8 pixels, predict, read the features.
  const m = await measure(async () => {
    const f = tf.tidy(() => predictBatch(backbone.body, backbone.preprocess(pixels, 32)));
    await f.data();
    f.dispose();
  }, 32);
  backbone.full.dispose();
  return m;
}

async function fineTune(): Promise<{ m: Measurement; trainable: number }> {
  const backbone = await loadBackbone(MODEL, { cutLayer: 'global_average_pooling2d_1' });
  const model = buildFineTuneModel(backbone.body, 2, { seed: 42 });
  const trainable = applyStage(model, { name: 'top', unfreeze: { topLayers: 20 }, epochs: 1, learningRate: 1e-4 }, [HEAD_LAYER_NAME]);
  const x = tf.randomUniform([32, 224, 224, 3], -1, 1, 'float32', 3);
  const y = randomLabels(32, 2);
  const m = await measure(() => model.trainOnBatch(x, y), 32);
  tf.dispose([x, y]);
  model.dispose();
  return { m, trainable };
}

const EFFNET = process.env.TL_BENCH_EFFNET ?? path.resolve(REPO, '../shared/data/models/efficientnet_lite0_224');

/** EfficientNet-Lite0 as tl runs it: features (inference only) and fine-tuning tl's default second stage. */
async function efficientnetLite0(): Promise<{ features: Measurement; fineTune: Measurement; trainable: number } | undefined> {
  if (!fs.existsSync(path.join(EFFNET, 'model.json'))) return undefined;
  const frozen = await loadBackbone(EFFNET, { scaling: 'minus1to1', inferenceOnly: true });
  const pixels = randomPixels(32 * 224 * 224 * 3);
  const features = await measure(async () => {
    const f = tf.tidy(() => predictBatch(frozen.body, frozen.preprocess(pixels, 32)));
    await f.data();
    f.dispose();
  }, 32);
  frozen.full.dispose();
  const backbone = await loadBackbone(EFFNET, { scaling: 'minus1to1' });
  const model = buildFineTuneModel(backbone.body, 2, { seed: 42 });
  // The peer trains the same 20 weight-bearing layers (it checks the count).
  const trainable = applyStage(model, { name: 'top', unfreeze: { topLayers: 20 }, epochs: 1, learningRate: 1e-4 }, [HEAD_LAYER_NAME]);
  const x = tf.randomUniform([32, 224, 224, 3], -1, 1, 'float32', 3);
  const y = randomLabels(32, 2);
  const fineTune = await measure(() => model.trainOnBatch(x, y), 32);
  tf.dispose([x, y]);
  model.dispose();
  return { features, fineTune, trainable };
}

function imageFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...imageFiles(p));
    else if (/\.jpe?g$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function ingest(files: string[]): Promise<Measurement> {
  let cursor = 0;
  return measure(async () => {
    const chunk = Array.from({ length: 32 }, (_, i) => files[(cursor + i) % files.length]);
    cursor += 32;
    const limit = pLimit(DECODE_CONCURRENCY);
    await Promise.all(
      chunk.map((f) =>
        limit(async () => imageToTensorBytes(await fs.promises.readFile(f), { size: [224, 224], colorMode: 'rgb', resize: 'cover', maxPixels: 50_000_000 })),
      ),
    );
  }, 32);
}

interface PeerReport {
  unavailable?: string;
  python?: string;
  torch?: string;
  torchThreads?: number;
  mkldnn?: boolean;
  /** The CUDA device the GPU figures ran on; null without one. */
  cuda?: string | null;
  pillow?: string;
  ingestWorkers?: number;
  results?: Record<string, Measurement>;
}

function readPeer(): PeerReport {
  const i = process.argv.indexOf('--peer');
  if (i < 0) return { unavailable: 'not run (no --peer FILE)' };
  try {
    return JSON.parse(fs.readFileSync(process.argv[i + 1], 'utf8')) as PeerReport;
  } catch (err) {
    return { unavailable: `could not read its results: ${(err as Error).message}` };
  }
}

async function main(): Promise<void> {
  const peer = readPeer();
  const backend = await initBackend({ queue: 'cpu', forced: 'auto' });
  const files = imageFiles(IMAGES);
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  const simd = backend.name === 'wasm' ? (tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? ', SIMD' : ', no SIMD') : '';
  const skipped = backend.tried.filter((t) => t.error).map((t) => `${t.name} not loadable`);

  console.log(`machine  ${CORES} cores, ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.arch()} ${os.release()}`);
  console.log(`tl       Node ${process.version}, @tensorflow/tfjs ${tf.version.tfjs}, backend ${describeBackend(backend)}${simd}${skipped.length ? ` (${skipped.join(', ')})` : ''}; sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}, ${DECODE_CONCURRENCY} files in flight`);
  console.log(peer.unavailable
    ? `PyTorch  n/a: ${peer.unavailable}`
    : `PyTorch  Python ${peer.python}, torch ${peer.torch}, CPU, ${peer.torchThreads} threads, oneDNN ${peer.mkldnn ? 'on' : 'off'}; Pillow ${peer.pillow}, ${peer.ingestWorkers} worker processes`);
  console.log(`protocol ${WARMUP} warm-up steps, then median of ${REPEATS} repeats of ≥${MIN_SECONDS} s; images/s, higher is better; random inputs except ingestion (${files.length} JPEGs)`);

  const tl: Record<string, Measurement> = {};
  tl.labCnnTrain = await labCnnTrain();
  tl.labCnnInfer = await labCnnInfer();
  tl.mobilenetFeatures = await mobilenetFeatures();
  const ft = await fineTune();
  tl.fineTune = ft.m;
  tl.ingest = await ingest(files);
  const effnet = await efficientnetLite0();
  if (effnet) {
    tl.efficientnetLite0Features = effnet.features;
    tl.efficientnetLite0FineTune = effnet.fineTune;
  }

  // [id, label, the peer's id for the same work]
  const rows: [string, string, string][] = [
    ['labCnnTrain', 'lab CNN training, batch 256, Adam', 'labCnnTrain'],
    ['labCnnInfer', 'lab CNN inference, batch 1000', 'labCnnInfer'],
    ['mobilenetFeatures', 'MobileNet V1 0.25 features 224², batch 32', 'mobilenetFeatures'],
    ['fineTune', `fine-tuning MobileNet V1 0.25, top ${ft.trainable - 1} + head, batch 32`, 'fineTune'],
    ['ingest', 'ingestion: JPEG decode + resize 224² (sharp | Pillow)', 'ingest'],
  ];
  if (effnet) {
    rows.push(
      ['efficientnetLite0Features', 'EfficientNet-Lite0 features 224², batch 32 (same weights)', 'efficientnetLite0Features'],
      ['efficientnetLite0FineTune', `fine-tuning EfficientNet-Lite0, top ${effnet.trainable - 1} + head, batch 32`, 'efficientnetLite0FineTune'],
    );
  }

  const gpu = await webgpuBackend();
  if (gpu.skipped) console.log(`webgpu   not measured: ${gpu.skipped}`);
  else {
    console.log(`webgpu   ${gpu.adapter}; PyTorch ${peer.cuda ? `on CUDA (${peer.cuda})` : 'has no CUDA device: its CPU figure is shown'}`);
    for (const batch of peer.cuda ? [256, 1024] : [256]) {
      tl[`labCnnTrainWebgpu${batch}`] = await webgpuTrain(batch);
      rows.push([`labCnnTrainWebgpu${batch}`, `lab CNN training on webgpu, batch ${batch} (PyTorch on ${peer.cuda ? 'CUDA' : 'CPU'})`, peer.cuda ? `labCnnTrainGpu${batch}` : 'labCnnTrain']);
    }
  }

  const results = rows.map(([id, label, peerId]) => {
    const p = peer.results?.[peerId];
    return { id, label, unit: 'images/s', tl: tl[id], pytorch: p ?? null, ratio: p ? tl[id].median / p.median : null };
  });

  const fmt = (x: number) => x.toFixed(x < 100 ? 1 : 0);
  const cell = (m: Measurement | null) => (m ? `${fmt(m.median)} (${fmt(Math.min(...m.samples))}–${fmt(Math.max(...m.samples))})` : 'n/a');
  const table = [
    ['images/s: median (min–max)', 'tl', 'PyTorch', 'tl/PyTorch'],
    ...results.map((r) => [r.label, cell(r.tl), cell(r.pytorch), r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}×`]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  console.log('');
  for (const row of table) console.log(row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));

  const stamp = new Date().toISOString();
  const record = {
    timestamp: stamp,
    machine: { cores: CORES, cpu: cpuModel, memGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.arch()} ${os.release()}` },
    protocol: { warmupSteps: WARMUP, repeats: REPEATS, minSecondsPerRepeat: MIN_SECONDS, statistic: 'median' },
    tl: { node: process.version, tfjs: tf.version.tfjs, backend, webgpu: gpu, sharp: sharp.versions.sharp, libvips: sharp.versions.vips, decodeConcurrency: DECODE_CONCURRENCY },
    pytorch: { ...peer, results: undefined },
    inputs: { model: MODEL, images: IMAGES, imageFiles: files.length },
    results,
  };
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${stamp.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  fs.copyFileSync(file, path.join(OUT, 'latest.json'));
  console.log(`\nresults  ${file} (and latest.json)`);
}

main().then(
  () => process.exit(0), // wasm's thread pool would otherwise keep the process alive
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
