// `npm run bench`, the end-to-end part: whole jobs as a user runs them, next to peer scripts
// doing the same whole job on the same machine in the same run.
//
//   lab CNN    tl: `tl run lab-cnn` through Temporal and MinIO (ingest the IDX files, train,
//              evaluate on test) | bench/peer_e2e.py lab (PyTorch) | bench/peer_keras.py lab
//   transfer   tl: `tl run transfer` on the photo set (ingest, features + LR head, staged
//              fine-tuning, evaluation) | bench/peer_e2e.py transfer (PyTorch, same weights)
//   efficiency each pipeline step's images/s divided by its kernel's in the kernel bench
//              (bench/run.ts's latest.json), with where the rest of the time went
//   Keras      the lab CNN kernels on the TensorFlow build tl's native backend links
//
// It starts its own two workers (cpu and gpu queue, as the README says to run them) on task
// queues of their own, in a bucket of its own that it empties before and after, so every
// ingestion and extraction is measured, not a cache hit. The stack is started if it is down.
// Sizes: TL_BENCH_E2E_EPOCHS (lab epochs, default 1), TL_BENCH_E2E_BATCH (lab batch on every
// side, default 256 as in the kernel bench), TL_BENCH_E2E_LIMIT (lab training images,
// default all 60,000), TL_BENCH_E2E_STAGES (fine-tuning stages JSON, default one head epoch
// and one top-20 epoch), TL_BENCH_E2E_ROUNDS (default 1; more rounds alternate who goes first).
// TL_BENCH_E2E=0 skips it all.
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { loadConfig } from '../lib/config';
import { z } from 'zod';
import { ArtifactStore } from '../lib/store/store';
import type { LabCnnRunResult, TransferRunResult } from '../contracts';
import type { TransferReport } from '../lib/report/transfer';
import type { StepTiming } from '../lib/report/charts';
import { TL, emptyBucket, endChildrenOnSignal, ensureStack, runJson as runJsonIn, startWorker as startWorkerIn } from './processes';

/** A run's report, hash-verified and parsed; the bench reads the few fields it prints. */
const readDocument = async <T>(store: ArtifactStore, key: string): Promise<T> => (await store.getJson(key, z.unknown())) as T;

const REPO = path.resolve(__dirname, '..', '..');
const OUT = process.env.TL_BENCH_OUT ?? '/tmp/tl-bench';
const PY = process.env.TL_BENCH_PYTHON ?? '/usr/bin/python3';
const IDX_DIR = process.env.TL_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const MODEL = process.env.TL_BENCH_MODEL ?? path.resolve(REPO, '../shared/data/models/mobilenet_v1_0.25_224');
const IMAGES = process.env.TL_BENCH_IMAGES ?? path.resolve(REPO, '../shared/data/datasets/hymenoptera_data');
const EPOCHS = Number(process.env.TL_BENCH_E2E_EPOCHS ?? 1);
/**
 * The kernel bench trains the lab CNN on batches of 256: the pipeline's step is compared at the same
 * size. tl starts from PyTorch's default initialisation (--init fan-in-uniform), as the peer does.
 */
const LAB_BATCH = Number(process.env.TL_BENCH_E2E_BATCH ?? 256);
const LIMIT = process.env.TL_BENCH_E2E_LIMIT ? Number(process.env.TL_BENCH_E2E_LIMIT) : undefined;
const ROUNDS = Number(process.env.TL_BENCH_E2E_ROUNDS ?? 1);
const STAGES =
  process.env.TL_BENCH_E2E_STAGES ??
  JSON.stringify([
    { name: 'head', unfreeze: 'head', epochs: 1, learningRate: 1e-3 },
    { name: 'top', unfreeze: { topLayers: 20 }, epochs: 1, learningRate: 1e-4 },
  ]);
const BUCKET = process.env.TL_BENCH_E2E_BUCKET ?? 'tl-bench-e2e';
/** The efficiency target of the issue: a step inside the pipeline keeps ≥ 80% of its kernel's speed. */
const EFFICIENCY_TARGET = 0.8;

const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  TL_S3_BUCKET: BUCKET,
  TL_TASK_QUEUE_CPU: `tl-bench-e2e-cpu-${process.pid}`,
  TL_TASK_QUEUE_GPU: `tl-bench-e2e-gpu-${process.pid}`,
  TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
};
const runJson = <T>(cmd: string, args: string[], env = childEnv) => runJsonIn<T>(cmd, args, env);
const startWorker = (queue: 'cpu' | 'gpu') => startWorkerIn(queue, childEnv);

// ---- the jobs ----

interface LabSide {
  wallSeconds: number;
  testAccuracy: number;
  trainImagesPerSecond?: number;
  phases?: Record<string, number>;
}

async function tlLab(store: ArtifactStore): Promise<LabSide & { steps: StepTiming[]; report: Record<string, unknown> }> {
  const args = [TL, 'run', 'lab-cnn', '--wait', '--json', '--no-promote', '--epochs', String(EPOCHS), '--batch-size', String(LAB_BATCH), '--init', 'fan-in-uniform', '--source', IDX_DIR, ...(LIMIT ? ['--limit', String(LIMIT)] : [])];
  const run = await runJson<LabCnnRunResult>(process.execPath, args);
  const report = await readDocument<{ steps?: StepTiming[]; environment: Record<string, number | string> }>(store, run.value.reportKeys.json);
  return {
    wallSeconds: run.seconds,
    testAccuracy: run.value.testAccuracy,
    trainImagesPerSecond: Number(report.environment.trainImagesPerSecond),
    steps: report.steps ?? [],
    report: report as unknown as Record<string, unknown>,
  };
}

const peerLab = (python: string, script: string) =>
  runJson<LabSide>(python, [path.join(REPO, 'bench', script), 'lab', '--idx', IDX_DIR, '--epochs', String(EPOCHS), '--batch', String(LAB_BATCH), ...(LIMIT ? ['--limit', String(LIMIT)] : [])]).then((r) => r.value);

interface TransferSide {
  wallSeconds: number;
  features: { testAccuracy: number };
  finetune: { testAccuracy: number };
  ingestImagesPerSecond?: number;
  featureImagesPerSecond?: number;
  fineTuneImagesPerSecond?: number;
  phases?: Record<string, number>;
  weightsLoaded?: boolean;
}

async function tlTransfer(store: ArtifactStore): Promise<TransferSide & { report: TransferReport }> {
  const args = [TL, 'run', 'transfer', '--wait', '--json', '--no-promote', '--no-augment', '--data', IMAGES, '--backbone', MODEL, '--stages', STAGES];
  const run = await runJson<TransferRunResult>(process.execPath, args);
  const report = await readDocument<TransferReport>(store, run.value.reportKeys.json);
  const acc = (m: string) => run.value.methods.find((x) => x.method === m)?.heldOutAccuracy ?? NaN;
  return { wallSeconds: run.seconds, features: { testAccuracy: acc('features') }, finetune: { testAccuracy: acc('finetune') }, report };
}

const peerTransfer = () =>
  runJson<TransferSide>(PY, [path.join(REPO, 'bench', 'peer_e2e.py'), 'transfer', '--data', IMAGES, '--model', MODEL, '--stages', STAGES]).then((r) => r.value);

// ---- efficiency: pipeline step vs kernel ----

interface KernelBench {
  results?: { id: string; tl: { median: number } | null; pytorch: { median: number } | null }[];
}

function kernelFigures(): Record<string, number> {
  try {
    const bench = JSON.parse(fs.readFileSync(path.join(OUT, 'latest.json'), 'utf8')) as KernelBench;
    return Object.fromEntries((bench.results ?? []).filter((r) => r.tl).map((r) => [r.id, r.tl!.median]));
  } catch {
    return {};
  }
}

interface EfficiencyRow {
  step: string;
  kernel: string;
  pipelineImagesPerSecond: number;
  kernelImagesPerSecond: number | null;
  ratio: number | null;
  note: string;
}

/** images/s of each step as the workflow saw it (wall time of the step: queueing, S3, decoding and all). */
function efficiencyRows(lab: { steps: StepTiming[]; trainImagesPerSecond?: number; trainImages: number }, transfer: TransferReport, kernels: Record<string, number>): EfficiencyRow[] {
  const wall = (steps: StepTiming[] | undefined, step: string) => steps?.find((s) => s.step === step);
  const counts = transfer.dataset.counts;
  const all = Object.values(counts).reduce((a, b) => a + b, 0);
  const extract = wall(transfer.steps, 'extract');
  const ingest = wall(transfer.steps, 'ingest');
  const ft = transfer.methods.find((m) => m.method === 'finetune');
  const rows: EfficiencyRow[] = [];
  const add = (step: string, kernel: string, pipeline: number, note: string) =>
    rows.push({ step, kernel, pipelineImagesPerSecond: pipeline, kernelImagesPerSecond: kernels[kernel] ?? null, ratio: kernels[kernel] ? pipeline / kernels[kernel] : null, note });
  if (ingest?.wallSeconds) add('transfer ingest (JPEG → 224² shards in S3)', 'ingest', all / ingest.wallSeconds, `${all} images in ${ingest.wallSeconds.toFixed(1)} s wall, ${ingest.activities ?? '?'} activities`);
  if (extract?.wallSeconds) {
    const b = extract.breakdown;
    const where = b
      ? `; worker ${fmt(extract.seconds)} s = S3 read ${fmt(b.s3Read, 2)} + backbone ${fmt(b.compute, 2)} (${fmt(all / b.compute)} img/s) + S3 write ${fmt(b.s3Write, 2)} + other ${fmt((extract.seconds ?? 0) - b.s3Read - b.compute - b.s3Write, 2)} (manifest, backbone lookup)`
      : '';
    add('transfer feature extraction', 'mobilenetFeatures', all / extract.wallSeconds, `${all} images in ${fmt(extract.wallSeconds)} s wall, ${extract.activities ?? '?'} shard activities${where}`);
  }
  const ftStep = wall(transfer.steps, 'finetune');
  if (ft?.imagesPerSecond) {
    const rest = ftStep?.wallSeconds ? `; step wall ${fmt(ftStep.wallSeconds)} s, of which epochs ${fmt(ft.trainSeconds)} s, the rest loading the split and backbone, validation, checkpoints and saving` : '';
    add('transfer fine-tuning (epochs inside the activity)', 'fineTune', ft.imagesPerSecond, `images trained / seconds in training epochs, batches made from the uint8 shards (the kernel bench trains the top stage on a ready tensor)${rest}`);
  }
  const labTrain = wall(lab.steps, 'train');
  if (labTrain?.wallSeconds) add('lab CNN training step', 'labCnnTrain', (lab.trainImages * EPOCHS) / labTrain.wallSeconds, `batch ${LAB_BATCH} in the pipeline, 256 in the kernel bench; step wall time includes loading shards, validation and checkpoints`);
  return rows;
}

// ---- table ----

const fmt = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(x >= 100 ? 0 : digits));
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const range = (xs: number[]) => (xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows) console.log(row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
}

async function main(): Promise<void> {
  if (process.env.TL_BENCH_E2E === '0') {
    console.log('end-to-end: skipped (TL_BENCH_E2E=0)');
    return;
  }
  const keras = process.env.TL_BENCH_KERAS_PYTHON; // from scripts/keras-peer.sh; unset: no Keras lines
  await ensureStack('end-to-end', childEnv);
  const store = ArtifactStore.fromConfig(loadConfig(childEnv));
  await store.ensureBucket();
  await emptyBucket(store);
  const workers = await Promise.all([startWorker('cpu'), startWorker('gpu')]);
  endChildrenOnSignal();
  try {
    for (const w of workers) console.log(`end-to-end: worker ${w.doc.taskQueue}: backend ${w.doc.backend.description}${w.doc.backend.passedOver.length ? ` (passed over ${w.doc.backend.passedOver.map((p) => p.name).join(', ')})` : ''}`);
    console.log(`end-to-end: lab CNN ${EPOCHS} epoch(s) of batch ${LAB_BATCH} on ${LIMIT ?? 'all 60,000'} training images; transfer on ${path.basename(IMAGES)} with stages ${STAGES}; ${ROUNDS} round(s); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const labRuns: { tl: Awaited<ReturnType<typeof tlLab>>[]; torch: LabSide[]; keras: LabSide[] } = { tl: [], torch: [], keras: [] };
    const transferRuns: { tl: Awaited<ReturnType<typeof tlTransfer>>[]; torch: TransferSide[] } = { tl: [], torch: [] };
    const errors: string[] = [];
    const attempt = async <T>(what: string, job: () => Promise<T>, into: T[]) => {
      const started = Date.now();
      try {
        into.push(await job());
        console.log(`end-to-end: ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (err) {
        errors.push(`${what}: ${(err as Error).message}`);
        console.log(`end-to-end: ${what}: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    };
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, and who goes first alternates, so a change in the machine's load hits both sides.
      const lab = [
        () => attempt('tl lab CNN', async () => (await emptyBucket(store), tlLab(store)), labRuns.tl),
        () => attempt('PyTorch lab CNN', () => peerLab(PY, 'peer_e2e.py'), labRuns.torch),
        ...(keras ? [() => attempt('Keras lab CNN', () => peerLab(keras, 'peer_keras.py'), labRuns.keras)] : []),
      ];
      const transfer = [
        () => attempt('tl transfer', async () => (await emptyBucket(store), tlTransfer(store)), transferRuns.tl),
        () => attempt('PyTorch transfer', peerTransfer, transferRuns.torch),
      ];
      for (const job of round % 2 ? [...lab].reverse() : lab) await job();
      for (const job of round % 2 ? [...transfer].reverse() : transfer) await job();
    }
    const kerasKernels = keras
      ? await runJson<{ results: Record<string, { median: number; samples: number[] }>; tensorflow: string }>(keras, [path.join(REPO, 'bench', 'peer_keras.py'), 'kernels'])
          .then((r) => r.value)
          .catch((err: Error) => (errors.push(`Keras kernels: ${err.message}`), null))
      : null;

    // ---- print ----
    const med = <T>(xs: T[], f: (x: T) => number | undefined) => {
      const v = xs.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return v.length ? { m: median(v), r: range(v) } : null;
    };
    const cell = (x: { m: number; r: string } | null, unit = '') => (x ? `${fmt(x.m)}${unit}${x.r}` : 'n/a');
    const ratio = (a: { m: number } | null, b: { m: number } | null) => (a && b ? `${(b.m / a.m).toFixed(2)}×` : 'n/a');
    const rows: string[][] = [['end-to-end: wall seconds (lower is better), median (min–max)', 'tl', 'peer', 'peer/tl time', 'accuracy tl | peer']];
    const accs = <T>(xs: T[], f: (x: T) => number) => (xs.length ? pct(median(xs.map(f))) : 'n/a');
    const labTl = med(labRuns.tl, (r) => r.wallSeconds);
    const labPt = med(labRuns.torch, (r) => r.wallSeconds);
    rows.push([`end-to-end lab CNN: IDX → ${EPOCHS} epoch(s) → test (PyTorch)`, cell(labTl, ' s'), cell(labPt, ' s'), ratio(labTl, labPt), `${accs(labRuns.tl, (r) => r.testAccuracy)} | ${accs(labRuns.torch, (r) => r.testAccuracy)}`]);
    if (keras) {
      const labK = med(labRuns.keras, (r) => r.wallSeconds);
      rows.push([`end-to-end lab CNN: IDX → ${EPOCHS} epoch(s) → test (Keras, TF 2.12.1)`, cell(labTl, ' s'), cell(labK, ' s'), ratio(labTl, labK), `${accs(labRuns.tl, (r) => r.testAccuracy)} | ${accs(labRuns.keras, (r) => r.testAccuracy)}`]);
    }
    const trTl = med(transferRuns.tl, (r) => r.wallSeconds);
    const trPt = med(transferRuns.torch, (r) => r.wallSeconds);
    const weights = transferRuns.torch[0]?.weightsLoaded ? 'same weights' : 'same architecture, random weights';
    rows.push([
      `end-to-end transfer: ingest + features + LR head + staged fine-tuning + evaluate (PyTorch, ${weights})`,
      cell(trTl, ' s'),
      cell(trPt, ' s'),
      ratio(trTl, trPt),
      `features ${accs(transferRuns.tl, (r) => r.features.testAccuracy)} | ${accs(transferRuns.torch, (r) => r.features.testAccuracy)}; fine-tuned ${accs(transferRuns.tl, (r) => r.finetune.testAccuracy)} | ${accs(transferRuns.torch, (r) => r.finetune.testAccuracy)}`,
    ]);
    // The peer's own phases next to tl's steps: where each side spends the time.
    const tlSteps = (steps: StepTiming[] | undefined) => (steps ?? []).map((s) => `${s.step} ${fmt(s.wallSeconds)}`).join(', ');
    console.log('');
    printTable(rows);
    if (labRuns.tl[0]) console.log(`  lab CNN steps, tl (wall s): ${tlSteps(labRuns.tl[0].steps)}; PyTorch phases: ${Object.entries(labRuns.torch[0]?.phases ?? {}).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    if (transferRuns.tl[0]) console.log(`  transfer steps, tl (wall s): ${tlSteps(transferRuns.tl[0].report.steps)}; PyTorch phases: ${Object.entries(transferRuns.torch[0]?.phases ?? {}).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);

    const kernels = kernelFigures();
    const efficiency =
      labRuns.tl[0] && transferRuns.tl[0]
        ? efficiencyRows({ steps: labRuns.tl[0].steps, trainImagesPerSecond: labRuns.tl[0].trainImagesPerSecond, trainImages: trainImagesOf(labRuns.tl[0].report) }, transferRuns.tl[0].report, kernels)
        : [];
    if (efficiency.length) {
      console.log('');
      printTable([
        [`end-to-end efficiency: step images/s in the pipeline ÷ the kernel bench's (target ≥ ${EFFICIENCY_TARGET})`, 'pipeline', 'kernel', 'ratio', ''],
        ...efficiency.map((e) => [`end-to-end efficiency ${e.step}`, fmt(e.pipelineImagesPerSecond), fmt(e.kernelImagesPerSecond), e.ratio === null ? 'n/a' : `${e.ratio.toFixed(2)}${e.ratio >= EFFICIENCY_TARGET ? '' : ' (below)'}`, e.note]),
      ]);
      if (!Object.keys(kernels).length) console.log(`  (no kernel figures: run bench/run.ts first, it writes ${path.join(OUT, 'latest.json')})`);
    }
    if (kerasKernels) {
      console.log('');
      printTable([
        ['end-to-end Keras: TensorFlow 2.12.1 itself vs tl on it (images/s, higher is better)', 'tl', 'Keras', 'tl/Keras', ''],
        ...(['labCnnTrain', 'labCnnInfer'] as const).map((id) => {
          const k = kerasKernels.results[id];
          const t = kernels[id];
          return [`end-to-end Keras lab CNN ${id === 'labCnnTrain' ? 'training, batch 256, Adam' : 'inference, batch 1000'}`, fmt(t), `${fmt(k?.median)}${k ? range(k.samples) : ''}`, t && k ? `${(t / k.median).toFixed(2)}×` : 'n/a', ''];
        }),
      ]);
    }
    for (const e of errors) console.log(`end-to-end: FAILED ${e}`);

    const stamp = new Date().toISOString();
    const record = {
      timestamp: stamp,
      loadAverage: os.loadavg(),
      sizes: { epochs: EPOCHS, labBatch: LAB_BATCH, limit: LIMIT ?? null, stages: JSON.parse(STAGES), rounds: ROUNDS, images: IMAGES, model: MODEL },
      workers: workers.map((w) => w.doc),
      lab: { tl: labRuns.tl.map(({ report: _r, ...r }) => r), pytorch: labRuns.torch, keras: labRuns.keras },
      transfer: { tl: transferRuns.tl.map(({ report, ...r }) => ({ ...r, steps: report.steps, methods: report.methods.map((m) => ({ method: m.method, trainSeconds: m.trainSeconds, imagesPerSecond: m.imagesPerSecond })) })), pytorch: transferRuns.torch },
      efficiency,
      keras: kerasKernels,
      errors,
    };
    fs.mkdirSync(OUT, { recursive: true });
    const file = path.join(OUT, `end-to-end-${stamp.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    fs.copyFileSync(file, path.join(OUT, 'end-to-end-latest.json'));
    console.log(`\nresults  ${file} (and end-to-end-latest.json)`);
    if (errors.length) process.exitCode = 1;
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.once('exit', r)))));
    await emptyBucket(store).catch(() => undefined);
  }
}

function trainImagesOf(report: Record<string, unknown>): number {
  return Number((report as { dataset?: { train?: number } }).dataset?.train ?? NaN);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
