// A worker trains and evaluates run after run in one process: each run must give back what it
// took. The lab CNN's train and evaluate activities run in-process, four times in a row, on a
// small sharded dataset in the stack's MinIO; tensors return to their starting count after
// every run and, after a GC, memory does not grow run over run (the first run pays for
// warming up: kernels, code, the wasm heap).
import { test, before } from 'node:test';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import * as tf from '@tensorflow/tfjs';
import { DefaultLogger } from '@temporalio/worker';
import { LAB_CNN_DEFAULTS, type EvaluateInput, type EvaluateResult, type IngestResult, type TrainInput, type TrainResult, type ShardRef } from '../../contracts';
import { DATASET_FORMAT, storeManifest, type DatasetManifest } from '../../lib/data/dataset';
import { initBackend, backendSummary } from '../../lib/tf/backend';
import { trainLabCnnActivity } from '../../activities/train-lab-cnn';
import { evaluateLabCnnActivity } from '../../activities/evaluate-lab-cnn';
import type { ActivityContext } from '../../activities/deps';
import { testConfig, testEnv, testStore } from './harness';

const RUNS = 4;
/**
 * Growth allowed from run 2 to the last, after a GC. The JS heap and the array buffers (where
 * shards live) are steady to within a few hundred kilobytes; a reader or its cache kept alive
 * would add a megabyte a run. RSS also moves with allocator and wasm-thread noise (±60 MB here),
 * so its bound only catches gross leaks.
 */
const HEAP_GROWTH_BOUND = 4 * 1024 * 1024;
const BUFFER_GROWTH_BOUND = 1024 * 1024;
const RSS_GROWTH_BOUND = 160 * 1024 * 1024;

// A cache of one megabyte: smaller than the split, so shards are read, evicted and read again.
const config = testConfig(testEnv({ TL_SHARD_CACHE_BYTES: String(1024 * 1024) }));
const store = testStore(config);
const stamp = `${Date.now().toString(36)}-${process.pid}`;
const classNames = ['a', 'b', 'c', 'd'];
let manifestKey = '';
let deps: () => ActivityContext;

/** `count` 28×28 images whose class shows as a bright band; shards of `perShard`. */
async function storeSplit(count: number, perShard: number, seed: number): Promise<{ count: number; classCounts: number[]; shards: ShardRef[] }> {
  const shards: ShardRef[] = [];
  const classCounts = new Array<number>(classNames.length).fill(0);
  for (let start = 0; start < count; start += perShard) {
    const n = Math.min(perShard, count - start);
    const images = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const label = (start + i + seed) % classNames.length;
      labels[i] = label;
      classCounts[label]++;
      for (let p = 0; p < 784; p++) images[i * 784 + p] = Math.floor(p / 196) === label ? 200 : ((p * 31 + i * 7 + seed) % 60);
    }
    shards.push({
      count: n,
      images: await store.putContent(`test/memory-${stamp}/shards`, images, '.u8'),
      labels: await store.putContent(`test/memory-${stamp}/shards`, labels, '.u8'),
    });
  }
  return { count, classCounts, shards };
}

before(async () => {
  const backend = await initBackend({ queue: 'cpu', forced: 'auto' });
  deps = () => ({ config, store, backend: backendSummary(backend) });
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    name: `memory-${stamp}`,
    imageShape: [28, 28, 1],
    classNames,
    source: { kind: 'synthetic', location: 'test', files: [] },
    splits: { train: await storeSplit(1200, 200, 0), test: await storeSplit(600, 150, 1) },
  };
  manifestKey = (await storeManifest(store, `test/memory-${stamp}`, manifest)).key;
});

// Steady numbers need a forced GC: --expose-gc, or turned on here when node ran without it.
v8.setFlagsFromString('--expose-gc');
const gc = ((globalThis as { gc?: () => void }).gc ?? vm.runInNewContext('gc')) as () => void;
function settledMemory(): { heapUsed: number; arrayBuffers: number; rss: number } {
  gc();
  gc();
  const { heapUsed, arrayBuffers, rss } = process.memoryUsage();
  return { heapUsed, arrayBuffers, rss };
}

const activityEnvironment = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });

async function trainAndEvaluate(run: number): Promise<number> {
  const runId = `test-memory-${stamp}-${run}`;
  const options = { ...LAB_CNN_DEFAULTS, epochs: 2, batchSize: 64, seed: 5 };
  // No workflow to signal progress records to: the interval keeps the trainer from sending any.
  const trainInput: TrainInput = { runId, manifestKey, options, recordEverySeconds: 3600 };
  const train: TrainResult = await activityEnvironment().run(trainLabCnnActivity(deps), trainInput);
  const ingest: IngestResult = { manifestKey, datasetSha256: '', cached: true, counts: { train: 1200, test: 600 }, classNames, seconds: 0 };
  const evaluateInput: EvaluateInput = { runId, manifestKey, options, ingest, train, timings: {} };
  const evaluated: EvaluateResult = await activityEnvironment().run(evaluateLabCnnActivity(deps), evaluateInput);
  assert.equal(evaluated.testCount, 600);
  return evaluated.testAccuracy;
}

test(`${RUNS} train + evaluate runs in one process give back their tensors and memory`, { timeout: 600_000 }, async () => {
  const tensorsAtStart = tf.memory().numTensors;
  const after: (ReturnType<typeof settledMemory> & { tensors: number; accuracy: number })[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const accuracy = await trainAndEvaluate(run);
    after.push({ ...settledMemory(), tensors: tf.memory().numTensors, accuracy });
  }
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  console.log(after.map((m, i) => `run ${i + 1}: ${m.tensors} tensors, heap ${mb(m.heapUsed)}, array buffers ${mb(m.arrayBuffers)}, rss ${mb(m.rss)}, test accuracy ${m.accuracy.toFixed(3)}`).join('\n'));
  for (const [i, m] of after.entries()) assert.equal(m.tensors, tensorsAtStart, `run ${i + 1} left ${m.tensors - tensorsAtStart} tensors behind`);
  // The same data and seed: the same model, run after run.
  assert.ok(after.every((m) => m.accuracy === after[0].accuracy), `accuracies ${after.map((m) => m.accuracy)}`);
  const heapGrowth = after[RUNS - 1].heapUsed - after[1].heapUsed;
  const bufferGrowth = after[RUNS - 1].arrayBuffers - after[1].arrayBuffers;
  const rssGrowth = after[RUNS - 1].rss - after[1].rss;
  assert.ok(heapGrowth < HEAP_GROWTH_BOUND, `heap grew ${mb(heapGrowth)} from run 2 to run ${RUNS}`);
  assert.ok(bufferGrowth < BUFFER_GROWTH_BOUND, `array buffers grew ${mb(bufferGrowth)} from run 2 to run ${RUNS}`);
  assert.ok(rssGrowth < RSS_GROWTH_BOUND, `rss grew ${mb(rssGrowth)} from run 2 to run ${RUNS}`);
});
