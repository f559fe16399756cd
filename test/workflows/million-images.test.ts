// The real transfer workflow over a simulated folder of a million images (1,000 listing pages,
// 8,000 shards),
// its activities replaced by instant stand-ins: the run must stay inside Temporal's limits
// however large the dataset is: no execution past 10,000 history events, no payload over
// 256 KB, and never more shard activities in flight than the run allows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { TRANSFER_DEFAULTS, TL_SEARCH_ATTRIBUTES, type BackboneInfo, type TransferLearningInput } from '../../contracts';
import { loadConfig } from '../../lib/config';
import { installedPath, stackBinDir, TOOLS } from '../../infra/install';
import { runExecutions } from '../../temporal/history-stats';
import { SHARDS_PER_EXECUTION } from '../../workflows/fan-out';

const IMAGES = 1_000_000;
const SHARD_SIZE = 125;
const SHARDS = IMAGES / SHARD_SIZE; // 8,000
const SPLITS = [
  { split: 'train', shards: 7000, images: 7000 * SHARD_SIZE },
  { split: 'val', shards: 500, images: 500 * SHARD_SIZE },
  { split: 'test', shards: 500, images: 500 * SHARD_SIZE },
];
const PAGES = IMAGES / 1000; // the folder's listing, 1,000 files a page
const MAX_IN_FLIGHT = 40;
const MAX_EVENTS = 10_000;
const MAX_PAYLOAD_BYTES = 256 * 1024;

const stamp = Date.now().toString(36);
const CPU_QUEUE = `million-cpu-${stamp}`;
const GPU_QUEUE = `million-gpu-${stamp}`;

const BACKBONE: BackboneInfo = { source: 's3://bucket/backbones/b', sha256: 'b'.repeat(64), cutLayer: 'pool', inputSize: [224, 224], channels: 3, scaling: '-1..1', featureDim: 1280 };

/** Shard activities running now, the most ever at once, and how many ran. */
const shardActivities = { running: 0, peak: 0, hash: 0, ingest: 0, extract: 0 };
async function asShardActivity<T>(kind: 'hash' | 'ingest' | 'extract', result: T): Promise<T> {
  shardActivities.running++;
  shardActivities.peak = Math.max(shardActivities.peak, shardActivities.running);
  shardActivities[kind]++;
  try {
    await sleep(25); // long enough for the window to fill
    return result;
  } finally {
    shardActivities.running--;
  }
}

const standIns: Partial<Activities> = {
  describeBackbone: async () => BACKBONE,
  listImageFiles: async () => ({ listingKey: 'datasets/images/listings/l.json', pages: PAGES, files: IMAGES, seconds: 20 }),
  hashImagePage: async ({ page }) => asShardActivity('hash', { page, files: 1000, bytes: 1000 * 1100, seconds: 1 }),
  planImageDataset: async () => ({ cached: false, cacheReason: 'new', planKey: 'datasets/images/plans/p.json', shards: SHARDS, files: IMAGES, datasetKey: 'k', seconds: 60 }),
  ingestImageShard: async ({ shardIndex }) => asShardActivity('ingest', { shardIndex, split: 'train' as const, count: SHARD_SIZE, rejected: 0, seconds: 2 }),
  finalizeImageDataset: async () => ({
    manifestKey: 'datasets/images/manifests/m.json',
    datasetSha256: 'd'.repeat(64),
    cached: false,
    counts: Object.fromEntries(SPLITS.map((s) => [s.split, s.images])),
    classNames: Array.from({ length: 100 }, (_, i) => `class-${i}`),
    seconds: 30,
    quality: { rejected: 0, duplicates: 0, crossSplit: 0 },
  }),
  countDatasetShards: async () => SPLITS,
  extractFeatures: async ({ split, shardIndex }) =>
    asShardActivity('extract', { split, count: SHARD_SIZE, features: `features/${split}-${shardIndex}.f32`, labels: `labels/${split}-${shardIndex}.u8`, cached: false, seconds: 3, backend: 'stand-in', profile: { readSeconds: 1, computeSeconds: 1.5, writeSeconds: 0.5 } }),
  trainFeatureHead: async ({ runId }) => ({ method: 'features', modelPrefix: `runs/${runId}/features`, selectionAccuracy: 0.8, trainSeconds: 600, imagesPerSecond: 1000, headKey: `runs/${runId}/head.json` }),
  evaluateTransfer: async (input) => ({
    runId: input.runId,
    chosenMethod: 'features',
    heldOutAccuracy: 0.8,
    methods: input.methods.map((m) => ({ method: m.method, heldOutAccuracy: 0.8, selectionAccuracy: m.selectionAccuracy })),
    modelKey: `runs/${input.runId}/model/model.json`,
    reportKeys: { json: 'r.json', html: 'r.html', markdown: 'r.md' },
  }),
};

/** What the run handed its last step: the feature and ingest summaries must add up to the whole dataset. */
let evaluated: Parameters<Activities['evaluateTransfer']>[0] | undefined;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const temporal = installedPath(TOOLS.temporal, stackBinDir(loadConfig().stateDir));
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: temporal }, searchAttributes: [...TL_SEARCH_ATTRIBUTES] } });
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: CPU_QUEUE,
    workflowsPath: require.resolve('../../workflows'),
    activities: {
      ...standIns,
      evaluateTransfer: async (input: Parameters<Activities['evaluateTransfer']>[0]) => {
        evaluated = input;
        return standIns.evaluateTransfer!(input);
      },
    },
    // More slots than the run's window: if the workflow over-scheduled, the worker would show it.
    maxConcurrentActivityTaskExecutions: 4 * MAX_IN_FLIGHT,
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

test('a million images in 8,000 shards: bounded history, payloads and activities in flight', { timeout: 900_000 }, async () => {
  const input: TransferLearningInput = {
    options: { ...TRANSFER_DEFAULTS, data: 's3://bucket/million', backbone: 'b', method: 'features', shardSize: SHARD_SIZE, maxInFlight: MAX_IN_FLIGHT },
    gpuTaskQueue: GPU_QUEUE,
  };
  const workflowId = `million-${stamp}`;
  const handle = await env.client.workflow.start('transferLearning', { taskQueue: CPU_QUEUE, workflowId, args: [input] });
  const result = await handle.result();
  assert.equal(result.chosenMethod, 'features');

  assert.equal(shardActivities.hash, PAGES, 'every listing page hashed once');
  assert.equal(shardActivities.ingest, SHARDS, 'every shard ingested once');
  assert.equal(shardActivities.extract, SHARDS, 'every shard extracted once');
  assert.ok(shardActivities.peak <= MAX_IN_FLIGHT, `at most ${MAX_IN_FLIGHT} shard activities in flight, saw ${shardActivities.peak}`);
  assert.ok(shardActivities.peak >= MAX_IN_FLIGHT / 4, `the window is used (peak ${shardActivities.peak})`);

  assert.deepEqual([evaluated!.features.shards, evaluated!.features.images], [SHARDS, IMAGES], 'the feature summary covers the whole dataset');
  assert.equal(evaluated!.ingest.activities, 1 + PAGES + 1 + SHARDS + 1, 'listing, pages, plan, shards, finalize');

  const executions = await runExecutions(env.client, workflowId);
  const partitions = Math.ceil(SHARDS / SHARDS_PER_EXECUTION);
  // The 1,000 pages fit the run's own execution; the 8,000 shards of each step take 8 children.
  assert.equal(executions.length, 1 + 2 * partitions, 'the run, and one child per partition for ingest and for extract');
  for (const e of executions) {
    assert.ok(e.events <= MAX_EVENTS, `${e.workflowId}: ${e.events} history events (at most ${MAX_EVENTS})`);
    assert.ok(e.largestPayloadBytes <= MAX_PAYLOAD_BYTES, `${e.workflowId}: a ${e.largestPayloadBytes}-byte payload (at most ${MAX_PAYLOAD_BYTES})`);
  }
  const total = executions.reduce((n, e) => n + e.events, 0);
  const largest = Math.max(...executions.map((e) => e.largestPayloadBytes));
  console.log(`# ${executions.length} executions, ${total} history events in all (largest ${Math.max(...executions.map((e) => e.events))}), largest payload ${largest} bytes, peak ${shardActivities.peak} shard activities in flight`);
});
