// `npm run bench:scale`: tl on datasets of growing size, on the real stack, to show that time
// grows linearly with the number of images while workers' memory and the run's history and
// payloads do not. For each size in TL_SCALE_SIZES (default 10000,50000,200000) it writes
// Fashion-MNIST as PNG class folders (copies past its 70,000 images are shifted by a pixel per
// copy, so every file is distinct), then runs `tl run transfer --method features` (ingest →
// extract → logistic-regression head → evaluate) with fresh workers and a bucket of its own,
// and prints wall time, images/s per step, each worker's peak RSS (its whole process tree,
// sampled), history events summed over every execution of the run, the largest payload, and
// what the run stored per image. TL_SCALE_FINETUNE=1 adds one short fine-tuning epoch on the
// largest size; TL_SCALE_STORED_SIZE=<px> runs them all with `--stored-size <px>`. Results:
// /tmp/tl-bench/scale-<timestamp>.json (TL_BENCH_OUT sets the folder).
import fs = require('node:fs');
import path = require('node:path');
import { Client, Connection } from '@temporalio/client';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { z } from 'zod';
import type { TransferRunResult } from '../contracts';
import { loadConfig } from '../lib/config';
import { loadManifest } from '../lib/data/dataset';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_FILES } from '../lib/data/fashion-mnist';
import { gunzipIdx, parseImageLabelPair } from '../lib/data/idx';
import type { StepTiming } from '../lib/report/charts';
import { ArtifactStore } from '../lib/store/store';
import { runExecutions } from '../temporal/history-stats';
import { TL, endChildrenOnSignal, ensureStack, runJson, startWorker } from './processes';

const REPO = path.resolve(__dirname, '..', '..');
const OUT = process.env.TL_BENCH_OUT ?? '/tmp/tl-bench';
const SIZES = (process.env.TL_SCALE_SIZES ?? '10000,50000,200000').split(',').map((s) => Number(s.trim()));
const IDX_DIR = process.env.TL_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const MODEL = process.env.TL_BENCH_MODEL ?? path.resolve(REPO, '../shared/data/models/mobilenet_v1_0.25_224');
const DATA_DIR = process.env.TL_SCALE_DATA ?? path.join(OUT, 'scale-data');
const FINETUNE = process.env.TL_SCALE_FINETUNE === '1';
/** Optional `--stored-size` for every run: the cheaper storage, measured the same way. */
const STORED_SIZE = process.env.TL_SCALE_STORED_SIZE;
const SAMPLE_MS = 250;

interface SizeResult {
  images: number;
  wallSeconds: number;
  /** Images per second of each step, from the run's report (worker seconds summed over parallel activities, and wall). */
  steps: { step: string; activities?: number; wallSeconds?: number; imagesPerSecond?: number }[];
  /** Peak RSS of each worker (its process tree), and the larger of the two. */
  workers: Record<string, number>;
  peakRssBytes: number;
  executions: number;
  historyEvents: number;
  largestExecutionEvents: number;
  maxPayloadBytes: number;
  /** What the run stored, per image: the source files, the preprocessed shards, the features. */
  storedBytesPerImage: { source: number; shards: number; features: number };
  heldOutAccuracy: number;
}

// ---- the datasets ----

/** Fashion-MNIST's 70,000 images and labels (train then test), from the Debian package's IDX files, checked as ingestion checks them. */
function fashionMnist(): { images: Uint8Array; labels: Uint8Array; count: number } {
  const gz = (name: string) => ({ source: name, bytes: gunzipIdx(name, fs.readFileSync(path.join(IDX_DIR, name))) });
  const expect = { height: 28, width: 28, numClasses: FASHION_MNIST_CLASSES.length };
  const f = FASHION_MNIST_FILES;
  const parts = [parseImageLabelPair(gz(f.trainImages), gz(f.trainLabels), expect), parseImageLabelPair(gz(f.testImages), gz(f.testLabels), expect)];
  const join = (arrays: Uint8Array[]) => Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  return { images: join(parts.map((p) => p.images)), labels: join(parts.map((p) => p.labels)), count: parts[0].count + parts[1].count };
}

/** `size` distinct 28×28 PNGs in class folders (written once, reused by later benches). */
async function syntheticFolder(size: number): Promise<string> {
  const dir = path.join(DATA_DIR, `fashion-mnist-${size}`);
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  for (const name of FASHION_MNIST_CLASSES) fs.mkdirSync(path.join(dir, folderName(name)), { recursive: true });
  const source = fashionMnist();
  const writes = pLimit(8);
  const pixels = 28 * 28;
  await Promise.all(
    Array.from({ length: size }, (_, i) =>
      writes(async () => {
        const at = i % source.count;
        const copy = Math.floor(i / source.count);
        const image = Buffer.from(source.images.subarray(at * pixels, (at + 1) * pixels));
        // Copy k is shifted right by k pixels (wrapping), so no two files are the same.
        const shifted = copy === 0 ? image : Buffer.from(Array.from(image, (_, p) => image[Math.floor(p / 28) * 28 + ((p % 28) - copy + 28) % 28]));
        const file = path.join(dir, folderName(FASHION_MNIST_CLASSES[source.labels[at]]), `${String(i).padStart(7, '0')}.png`);
        await sharp(shifted, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(file);
      }),
    ),
  );
  fs.writeFileSync(done, '');
  return dir;
}

const folderName = (className: string) => className.replace(/[^A-Za-z0-9-]+/g, '_');

// ---- measuring ----

/** Resident set size of a process and all its descendants (Linux /proc). */
function treeRssBytes(pid: number): number {
  let total = 0;
  const pending = [pid];
  while (pending.length) {
    const p = pending.pop()!;
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const children = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      if (children) pending.push(...children.split(/\s+/).map(Number));
    } catch {
      /* exited meanwhile */
    }
  }
  return total;
}

async function emptyAndRemove(store: ArtifactStore): Promise<void> {
  const deletes = pLimit(32);
  await Promise.all((await store.list('')).map((key) => deletes(() => store.delete(key))));
}

async function measure(size: number, client: Client, stamp: string): Promise<SizeResult> {
  const data = await syntheticFolder(size);
  const bucket = `tl-bench-scale-${size}-${stamp}`;
  const env = { ...process.env, TL_S3_BUCKET: bucket, TL_TASK_QUEUE_CPU: `tl-bench-scale-cpu-${stamp}-${size}`, TL_TASK_QUEUE_GPU: `tl-bench-scale-gpu-${stamp}-${size}` };
  const store = ArtifactStore.fromConfig(loadConfig(env));
  await store.ensureBucket();
  const workers = await Promise.all([startWorker('cpu', env), startWorker('gpu', env)]);
  const peaks: Record<string, number> = { cpu: 0, gpu: 0 };
  const sampler = setInterval(() => {
    workers.forEach((w, i) => {
      const name = i === 0 ? 'cpu' : 'gpu';
      peaks[name] = Math.max(peaks[name], treeRssBytes(w.child.pid!));
    });
  }, SAMPLE_MS);
  const workflowId = `scale-${size}-${stamp}`;
  try {
    const finetune = FINETUNE && size === Math.max(...SIZES);
    const method = finetune ? ['--method', 'both', '--stages', JSON.stringify([{ name: 'head', unfreeze: 'head', epochs: 1, learningRate: 1e-3 }])] : ['--method', 'features'];
    const storedSize = STORED_SIZE ? ['--stored-size', STORED_SIZE] : [];
    const args = [TL, 'run', 'transfer', '--wait', '--json', '--no-promote', '--no-augment', '--id', workflowId, '--data', data, '--backbone', MODEL, ...method, ...storedSize];
    const run = await runJson<TransferRunResult>(process.execPath, args, env);
    const report = (await store.getJson(run.value.reportKeys.json, z.unknown())) as { steps?: StepTiming[]; dataset: { manifestKey: string }; backbone: { featureDim: number } };
    const manifest = await loadManifest(store, report.dataset.manifestKey);
    const stored = Object.values(manifest.splits).flatMap((s) => s.shards);
    const images = stored.reduce((n, s) => n + s.count, 0);
    const executions = await runExecutions(client, workflowId);
    return {
      images: size,
      wallSeconds: run.seconds,
      steps: (report.steps ?? []).map((s) => ({
        step: s.step,
        activities: s.activities,
        wallSeconds: s.wallSeconds,
        imagesPerSecond: s.wallSeconds && ['ingest', 'extract'].includes(s.step) ? size / s.wallSeconds : undefined,
      })),
      workers: peaks,
      peakRssBytes: Math.max(peaks.cpu, peaks.gpu),
      executions: executions.length,
      historyEvents: executions.reduce((n, e) => n + e.events, 0),
      largestExecutionEvents: Math.max(...executions.map((e) => e.events)),
      maxPayloadBytes: Math.max(...executions.map((e) => e.largestPayloadBytes)),
      storedBytesPerImage: {
        source: (manifest.source.files ?? []).reduce((n, f) => n + (f.bytes ?? 0), 0) / size,
        shards: stored.reduce((n, s) => n + s.images.size, 0) / images,
        features: report.backbone.featureDim * 4,
      },
      heldOutAccuracy: run.value.heldOutAccuracy,
    };
  } finally {
    clearInterval(sampler);
    for (const w of workers) w.child.kill('SIGTERM');
    await emptyAndRemove(store).catch((err: Error) => console.log(`scale: could not empty ${bucket}: ${err.message}`));
  }
}

// ---- the table ----

const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;

function printTable(results: SizeResult[]): void {
  const rate = (r: SizeResult, step: string) => r.steps.find((s) => s.step === step)?.imagesPerSecond;
  const rows = [
    ['images', 'wall s', 's / 1k img', 'ingest img/s', 'extract img/s', 'cpu worker RSS', 'gpu worker RSS', 'executions', 'events', 'max events', 'max payload', 'stored B/img (src / shards / features)', 'held-out acc'],
    ...results.map((r) => [
      r.images.toLocaleString('en-US'),
      r.wallSeconds.toFixed(0),
      ((r.wallSeconds * 1000) / r.images).toFixed(1),
      rate(r, 'ingest')?.toFixed(0) ?? 'n/a',
      rate(r, 'extract')?.toFixed(0) ?? 'n/a',
      mb(r.workers.cpu),
      mb(r.workers.gpu),
      String(r.executions),
      String(r.historyEvents),
      String(r.largestExecutionEvents),
      `${(r.maxPayloadBytes / 1024).toFixed(1)} KB`,
      `${r.storedBytesPerImage.source.toFixed(0)} / ${r.storedBytesPerImage.shards.toFixed(0)} / ${r.storedBytesPerImage.features}`,
      r.heldOutAccuracy.toFixed(4),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
  if (results.length >= 2) {
    const [first, last] = [results[0], results[results.length - 1]];
    const growth = last.images / first.images;
    console.log(
      `scale: ${growth.toFixed(1)}× the images took ${(last.wallSeconds / first.wallSeconds).toFixed(2)}× the time (linear: ${growth.toFixed(1)}×); ` +
        `peak worker RSS ${(last.peakRssBytes / first.peakRssBytes).toFixed(2)}× (flat: 1×); largest execution ${last.largestExecutionEvents} events; largest payload ${(last.maxPayloadBytes / 1024).toFixed(1)} KB`,
    );
  }
}

async function main(): Promise<void> {
  if (SIZES.some((n) => !Number.isInteger(n) || n < 100)) throw new Error(`TL_SCALE_SIZES must list whole numbers of at least 100, got ${process.env.TL_SCALE_SIZES}`);
  endChildrenOnSignal();
  await ensureStack('scale', process.env);
  const config = loadConfig();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const stamp = Date.now().toString(36);
  const results: SizeResult[] = [];
  try {
    for (const size of SIZES) {
      console.log(`scale: ${size.toLocaleString('en-US')} images ...`);
      const result = await measure(size, client, stamp);
      console.log(`scale: ${size.toLocaleString('en-US')} images: ${result.wallSeconds.toFixed(0)} s, peak RSS ${mb(result.peakRssBytes)}, ${result.historyEvents} events`);
      results.push(result);
    }
  } finally {
    await connection.close();
  }
  printTable(results);
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ sizes: SIZES, model: MODEL, storedSize: STORED_SIZE ? Number(STORED_SIZE) : null, results }, null, 2));
  console.log(`scale: wrote ${file}`);
}

main().catch((err) => {
  console.error(`scale: ${(err as Error).message}`);
  process.exitCode = 1;
});
