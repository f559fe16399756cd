// The two workflows against stand-in activities: which activities run, in which order, on which
// task queue, how often, and what the `progress` query and the TlStep search attribute say. No S3
// and no tfjs: a dev server of its own (the Temporal binary `tl stack up` installs) and a worker
// in this process serving the real workflow code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { LAB_CNN_DEFAULTS, LAB_CNN_STEPS, TRANSFER_DEFAULTS, TRANSFER_STEPS, TL_SEARCH_ATTRIBUTES, progressQuery, type BackboneInfo, type TransferMethod, type TrainLabCnnInput, type TransferLearningInput } from '../../contracts';
import { loadConfig } from '../../lib/config';
import { SourceError } from '../../lib/data/fashion-mnist';
import { ImageFolderError } from '../../lib/data/images/scan';
import { installedPath, stackBinDir, TOOLS } from '../../infra/install';
import { badInputInterceptors } from '../../workers/bad-input';

const stamp = Date.now().toString(36);
const CPU_QUEUE = `wf-test-cpu-${stamp}`;
const GPU_QUEUE = `wf-test-gpu-${stamp}`;

/** What one run's stand-ins do differently from the plain successful path. */
interface Scenario {
  /** Shards the ingestion plan has (default 2). */
  shards?: number;
  /** Shards per split the dataset has for feature extraction (default: one train, one val, one test). */
  listed?: { split: string; shards: number; images: number }[];
  /** Pages of a local folder's listing (default 0: not a local folder, the plan scans it). */
  pages?: number;
  /** The plan finds the dataset already stored. */
  cachedPlan?: boolean;
  /** This activity throws a plain Error on its first attempt. */
  failOnce?: keyof Activities;
  /** This activity throws this error (bad input) on every attempt. */
  fail?: { activity: keyof Activities; error: Error };
}

interface Call {
  activity: keyof Activities;
  taskQueue: string;
  attempt: number;
  input: Record<string, unknown>;
}

const scenarios = new Map<string, Scenario>();
const calls = new Map<string, Call[]>();

/** Records the call, then fails it when the run's scenario says so. */
function called(activity: keyof Activities, input: object): Scenario {
  const { info } = Context.current();
  const workflowId = info.workflowExecution?.workflowId ?? '';
  const list = calls.get(workflowId) ?? [];
  list.push({ activity, taskQueue: info.taskQueue, attempt: info.attempt, input: input as Record<string, unknown> });
  calls.set(workflowId, list);
  const scenario = scenarios.get(workflowId) ?? {};
  if (scenario.fail?.activity === activity) throw scenario.fail.error;
  if (scenario.failOnce === activity && info.attempt === 1) throw new Error(`${activity}: connection reset (attempt ${info.attempt})`);
  return scenario;
}

const BACKBONE: BackboneInfo = {
  source: 's3://bucket/backbones/tiny',
  sha256: 'b'.repeat(64),
  cutLayer: 'pool',
  inputSize: [32, 32],
  channels: 3,
  scaling: '0..1',
  featureDim: 8,
};
const REPORT_KEYS = { json: 'reports/r.json', html: 'reports/r.html', markdown: 'reports/r.md' };
const ingestResult = (manifestKey: string) => ({ manifestKey, datasetSha256: 'd'.repeat(64), cached: false, counts: { train: 10 }, classNames: ['a', 'b'], seconds: 1 });
const decision = (input: { runId: string; modelName: string; margin: number }) => ({
  modelName: input.modelName,
  promoted: true,
  reason: 'no champion yet',
  margin: input.margin,
  heldOut: { manifestKey: 'datasets/m.json', split: 'test', count: 10 },
  challenger: { runId: input.runId, accuracy: 0.9, macroF1: 0.9 },
  champion: null,
  comparable: true,
  seq: 1,
});

type StandIns = { [K in keyof Activities]: (input: Parameters<Activities[K]>[0]) => Promise<unknown> };

const standIns: StandIns = {
  async ingestFashionMnist(input) {
    called('ingestFashionMnist', input);
    return ingestResult('datasets/fashion-mnist/manifest.json');
  },
  async trainLabCnn(input) {
    called('trainLabCnn', input);
    return { modelPrefix: `models/${input.runId}`, history: [], resumedFromEpoch: 0, trainCount: 9, validationCount: 1, seconds: 1, imagesPerSecond: 100, backend: 'stand-in' };
  },
  async evaluateLabCnn(input) {
    called('evaluateLabCnn', input);
    return { testAccuracy: 0.875, macroF1: 0.87, testCount: 10, reportKeys: REPORT_KEYS };
  },
  async describeBackbone(input) {
    called('describeBackbone', input);
    return BACKBONE;
  },
  async listImageFiles(input) {
    const s = called('listImageFiles', input);
    return s.pages ? { listingKey: 'datasets/images/listings/l.json', pages: s.pages, files: 20, seconds: 1 } : { pages: 0, files: 0, seconds: 0 };
  },
  async hashImagePage(input) {
    called('hashImagePage', input);
    return { page: input.page, files: 10, bytes: 1000, seconds: 1 };
  },
  async planImageDataset(input) {
    const s = called('planImageDataset', input);
    const shards = s.shards ?? 2;
    return s.cachedPlan
      ? { cached: true, cacheReason: 'same files', manifestKey: 'datasets/cached/manifest.json', planKey: 'plans/p.json', shards, files: 20, datasetKey: 'k' }
      : { cached: false, cacheReason: 'new', planKey: 'plans/p.json', shards, files: 20, datasetKey: 'k', seconds: 1 };
  },
  async ingestImageShard(input) {
    called('ingestImageShard', input);
    return { shardIndex: input.shardIndex, split: 'train', count: 10, rejected: 0, seconds: 1 };
  },
  async finalizeImageDataset(input) {
    called('finalizeImageDataset', input);
    return { ...ingestResult('datasets/new/manifest.json'), quality: { rejected: 0, duplicates: 0, crossSplit: 0 } };
  },
  async countDatasetShards(input) {
    const s = called('countDatasetShards', input);
    return s.listed ?? [
      { split: 'train', shards: 1, images: 10 },
      { split: 'val', shards: 1, images: 5 },
      { split: 'test', shards: 1, images: 5 },
    ];
  },
  async extractFeatures(input) {
    called('extractFeatures', input);
    return { split: input.split, count: 10, features: `features/${input.split}/${input.shardIndex}`, labels: 'labels', cached: false, seconds: 1 };
  },
  async trainFeatureHead(input) {
    called('trainFeatureHead', input);
    return { method: 'features', modelPrefix: `models/${input.runId}/features`, selectionAccuracy: 0.8, trainSeconds: 1, imagesPerSecond: 100, headKey: 'heads/h.json' };
  },
  async fineTune(input) {
    called('fineTune', input);
    return { method: 'finetune', modelPrefix: `models/${input.runId}/finetune`, selectionAccuracy: 0.85, trainSeconds: 1, imagesPerSecond: 50 };
  },
  async evaluateTransfer(input) {
    called('evaluateTransfer', input);
    const chosen = input.methods[input.methods.length - 1];
    return {
      runId: input.runId,
      chosenMethod: chosen.method,
      heldOutAccuracy: 0.8125,
      methods: input.methods.map((m) => ({ method: m.method, heldOutAccuracy: 0.8, selectionAccuracy: m.selectionAccuracy })),
      modelKey: `${chosen.modelPrefix}/model.json`,
      reportKeys: REPORT_KEYS,
    };
  },
  async promoteModel(input) {
    called('promoteModel', input);
    return decision(input);
  },
};

let env: TestWorkflowEnvironment;
let workers: Worker[] = [];
let running: Promise<void>[] = [];

before(async () => {
  // The failures the tests provoke are expected: keep the worker's warnings about them quiet.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const temporal = installedPath(TOOLS.temporal, stackBinDir(loadConfig().stateDir));
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporal }, searchAttributes: [...TL_SEARCH_ATTRIBUTES] },
  });
  const common = { connection: env.nativeConnection, namespace: env.namespace ?? 'default', interceptors: { activity: [badInputInterceptors] } };
  const cpu = await Worker.create({
    ...common,
    taskQueue: CPU_QUEUE,
    workflowsPath: require.resolve('../../workflows'),
    // The same interceptors as the real workers: activity summaries, and bad input failing for good.
    interceptors: { ...common.interceptors, workflowModules: [require.resolve('../../workflows/activity-summaries')] },
    // fineTune is here too, so a run that sent it to the CPU queue is seen doing so instead of hanging.
    activities: standIns,
  });
  const gpu = await Worker.create({ ...common, taskQueue: GPU_QUEUE, activities: { fineTune: standIns.fineTune } });
  workers = [cpu, gpu];
  running = workers.map((w) => w.run());
});

after(async () => {
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await env?.teardown();
});

let seq = 0;
function start<T extends 'trainLabCnn' | 'transferLearning'>(workflow: T, input: T extends 'trainLabCnn' ? TrainLabCnnInput : TransferLearningInput, scenario: Scenario = {}) {
  const workflowId = `wf-${workflow}-${stamp}-${++seq}`;
  scenarios.set(workflowId, scenario);
  return env.client.workflow.start(workflow, { taskQueue: CPU_QUEUE, workflowId, args: [input as never] });
}

const callsOf = (handle: WorkflowHandle) => calls.get(handle.workflowId) ?? [];
/** Activity names in the order they were called, each fan-out's calls side by side. */
const namesOf = (handle: WorkflowHandle) => callsOf(handle).map((c) => c.activity);
const only = (handle: WorkflowHandle, activity: keyof Activities) => callsOf(handle).filter((c) => c.activity === activity);

/** The TlStep values the run upserted, in order. */
async function stepsUpserted(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return history.events!.flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TlStep;
    return field ? [defaultPayloadConverter.fromPayload<string>(field)] : [];
  });
}

const labInput = (promotion?: TrainLabCnnInput['promotion']): TrainLabCnnInput => ({
  options: { ...LAB_CNN_DEFAULTS, epochs: 2, limit: 100 },
  ...(promotion ? { promotion, requestedBy: 'tester' } : {}),
});

const transferInput = (method: TransferMethod, promotion?: TransferLearningInput['promotion']): TransferLearningInput => ({
  options: { ...TRANSFER_DEFAULTS, data: 's3://bucket/photos', backbone: 'tiny', method },
  gpuTaskQueue: GPU_QUEUE,
  ...(promotion ? { promotion, requestedBy: 'tester' } : {}),
});

// ---- lab CNN ---------------------------------------------------------------------------------

test('lab CNN: ingest → train → evaluate, no promotion', async () => {
  const handle = await start('trainLabCnn', labInput());
  const result = await handle.result();
  assert.deepEqual(namesOf(handle), ['ingestFashionMnist', 'trainLabCnn', 'evaluateLabCnn']);
  assert.equal(result.testAccuracy, 0.875);
  assert.equal(result.modelKey, `models/${result.runId}/model.json`);
  assert.equal(result.promotion, undefined);
  const train = only(handle, 'trainLabCnn')[0].input;
  assert.equal(train.manifestKey, 'datasets/fashion-mnist/manifest.json');
  const progress = await handle.query(progressQuery);
  assert.equal(progress.step, 'done');
  assert.deepEqual(progress.steps, LAB_CNN_STEPS);
  assert.equal(progress.testAccuracy, 0.875);
  assert.deepEqual(await stepsUpserted(handle), ['ingest', 'train', 'evaluate', 'done']);
});

test('lab CNN: with promotion, promote runs last with the model name, margin and requester', async () => {
  const handle = await start('trainLabCnn', labInput({ modelName: 'fashion', margin: 0.01 }));
  const result = await handle.result();
  assert.deepEqual(namesOf(handle), ['ingestFashionMnist', 'trainLabCnn', 'evaluateLabCnn', 'promoteModel']);
  const promote = only(handle, 'promoteModel')[0].input;
  assert.equal(promote.modelName, 'fashion');
  assert.equal(promote.margin, 0.01);
  assert.equal(promote.requestedBy, 'tester');
  assert.equal(result.promotion?.promoted, true);
  const progress = await handle.query(progressQuery);
  assert.deepEqual(progress.steps, [...LAB_CNN_STEPS, 'promote']);
  assert.deepEqual(await stepsUpserted(handle), ['ingest', 'train', 'evaluate', 'promote', 'done']);
});

test('lab CNN: an activity that fails once with a plain error is retried and the run completes', async () => {
  const handle = await start('trainLabCnn', labInput(), { failOnce: 'evaluateLabCnn' });
  const result = await handle.result();
  assert.equal(result.testAccuracy, 0.875);
  assert.deepEqual(only(handle, 'evaluateLabCnn').map((c) => c.attempt), [1, 2]);
  assert.deepEqual(namesOf(handle), ['ingestFashionMnist', 'trainLabCnn', 'evaluateLabCnn', 'evaluateLabCnn']);
  assert.equal((await handle.query(progressQuery)).step, 'done');
});

test('lab CNN: bad input fails the run at once with its type and message, progress "failed"', async () => {
  const error = new SourceError('Fashion-MNIST source /nowhere: no such directory');
  const handle = await start('trainLabCnn', labInput(), { fail: { activity: 'ingestFashionMnist', error } });
  const err = await handle.result().then(
    () => assert.fail('the run succeeded'),
    (e: unknown) => e,
  );
  assertBadInput(err, 'SourceError', error.message);
  assert.deepEqual(namesOf(handle), ['ingestFashionMnist'], 'not retried, nothing after it');
  assert.equal((await handle.query(progressQuery)).step, 'failed');
  assert.deepEqual(await stepsUpserted(handle), ['ingest', 'failed']);
});

// ---- transfer learning ---------------------------------------------------------------------

/** The activities of a transfer run before training, for `shards` ingest and `listed` extract shards. */
const transferPrefix = (shards: number, listed: number) => [
  'describeBackbone',
  'listImageFiles',
  'planImageDataset',
  ...Array<string>(shards).fill('ingestImageShard'),
  'finalizeImageDataset',
  'countDatasetShards',
  ...Array<string>(listed).fill('extractFeatures'),
];

test('transfer, method features: the head is trained, nothing is fine-tuned', async () => {
  const handle = await start('transferLearning', transferInput('features'));
  const result = await handle.result();
  assert.deepEqual(namesOf(handle), [...transferPrefix(2, 3), 'trainFeatureHead', 'evaluateTransfer']);
  assert.equal(result.chosenMethod, 'features');
  assert.equal(result.promotion, undefined);
  assert.deepEqual(only(handle, 'evaluateTransfer')[0].input.methods, [
    { method: 'features', modelPrefix: `models/${result.runId}/features`, selectionAccuracy: 0.8, trainSeconds: 1, imagesPerSecond: 100, headKey: 'heads/h.json' },
  ]);
  const progress = await handle.query(progressQuery);
  assert.equal(progress.step, 'done');
  assert.deepEqual(progress.steps, TRANSFER_STEPS);
  assert.equal(progress.testAccuracy, 0.8125);
  assert.deepEqual(await stepsUpserted(handle), ['backbone', 'ingest', 'extract', 'features', 'evaluate', 'done']);
});

test('transfer, method finetune: fine-tuning runs on the GPU queue, without a warm-start head', async () => {
  const handle = await start('transferLearning', transferInput('finetune'));
  const result = await handle.result();
  assert.deepEqual(namesOf(handle), [...transferPrefix(2, 3), 'fineTune', 'evaluateTransfer']);
  const [fineTune] = only(handle, 'fineTune');
  assert.equal(fineTune.taskQueue, GPU_QUEUE);
  assert.equal(fineTune.input.warmStartHead, undefined);
  assert.equal(result.chosenMethod, 'finetune');
  assert.ok(callsOf(handle).filter((c) => c.activity !== 'fineTune').every((c) => c.taskQueue === CPU_QUEUE));
  assert.deepEqual(await stepsUpserted(handle), ['backbone', 'ingest', 'extract', 'finetune', 'evaluate', 'done']);
});

test('transfer, method both, with promotion: head, then fine-tuning warm-started from it, evaluate both, promote', async () => {
  const handle = await start('transferLearning', transferInput('both', { modelName: 'photos', margin: 0 }));
  const result = await handle.result();
  assert.deepEqual(namesOf(handle), [...transferPrefix(2, 3), 'trainFeatureHead', 'fineTune', 'evaluateTransfer', 'promoteModel']);
  const [fineTune] = only(handle, 'fineTune');
  assert.equal(fineTune.taskQueue, GPU_QUEUE);
  assert.equal(fineTune.input.warmStartHead, 'heads/h.json');
  const methods = only(handle, 'evaluateTransfer')[0].input.methods as { method: string }[];
  assert.deepEqual(methods.map((m) => m.method), ['features', 'finetune']);
  const promote = only(handle, 'promoteModel')[0].input;
  assert.equal(promote.modelName, 'photos');
  assert.equal(promote.requestedBy, 'tester');
  assert.equal(result.promotion?.modelName, 'photos');
  const progress = await handle.query(progressQuery);
  assert.deepEqual(progress.steps, [...TRANSFER_STEPS, 'promote']);
  assert.deepEqual(await stepsUpserted(handle), ['backbone', 'ingest', 'extract', 'features', 'finetune', 'evaluate', 'promote', 'done']);
});

test('transfer fan-out: one ingestImageShard per planned shard, one extractFeatures per listed shard', async () => {
  const listed = [{ split: 'train', shards: 4, images: 40 }, { split: 'test', shards: 1, images: 3 }];
  const handle = await start('transferLearning', transferInput('features'), { shards: 5, listed });
  await handle.result();
  assert.deepEqual(namesOf(handle), [...transferPrefix(5, 5), 'trainFeatureHead', 'evaluateTransfer']);
  const shardIndexes = only(handle, 'ingestImageShard').map((c) => c.input.shardIndex as number);
  assert.deepEqual(shardIndexes.sort((a, b) => a - b), [0, 1, 2, 3, 4]);
  assert.ok(only(handle, 'ingestImageShard').every((c) => c.input.planKey === 'plans/p.json'));
  // The shards' results stay in S3: finalize is handed the plan's key and nothing per shard.
  assert.deepEqual(only(handle, 'finalizeImageDataset')[0].input, { planKey: 'plans/p.json' });
  const extracted = only(handle, 'extractFeatures').map((c) => `${c.input.split}/${c.input.shardIndex}`);
  assert.deepEqual(extracted.sort(), ['test/0', 'train/0', 'train/1', 'train/2', 'train/3']);
  assert.ok(only(handle, 'extractFeatures').every((c) => c.input.manifestKey === 'datasets/new/manifest.json'));
  const summary = only(handle, 'evaluateTransfer')[0].input.features as { shards: number; images: number };
  assert.deepEqual([summary.shards, summary.images], [5, 50], 'every feature shard counted, no list');
});

test('transfer, a local folder: listed, each page hashed, then planned from the listing', async () => {
  const handle = await start('transferLearning', transferInput('features'), { pages: 3 });
  await handle.result();
  const names = namesOf(handle);
  assert.deepEqual(names.slice(0, 6), ['describeBackbone', 'listImageFiles', 'hashImagePage', 'hashImagePage', 'hashImagePage', 'planImageDataset']);
  assert.deepEqual(only(handle, 'hashImagePage').map((c) => c.input.page).sort(), [0, 1, 2]);
  assert.ok(only(handle, 'hashImagePage').every((c) => c.input.listingKey === 'datasets/images/listings/l.json'));
  assert.equal(only(handle, 'planImageDataset')[0].input.listingKey, 'datasets/images/listings/l.json');
  const ingest = only(handle, 'evaluateTransfer')[0].input.ingest as { activities: number; seconds: number };
  assert.equal(ingest.activities, 2 + 3 + 2 + 1, 'listing, 3 pages, plan, 2 shards, finalize');
});

test('transfer: a cached plan skips shard ingestion and extracts from the cached dataset', async () => {
  const handle = await start('transferLearning', transferInput('features'), { cachedPlan: true });
  await handle.result();
  assert.deepEqual(namesOf(handle), ['describeBackbone', 'listImageFiles', 'planImageDataset', 'countDatasetShards', 'extractFeatures', 'extractFeatures', 'extractFeatures', 'trainFeatureHead', 'evaluateTransfer']);
  assert.equal(only(handle, 'countDatasetShards')[0].input.manifestKey, 'datasets/cached/manifest.json');
  const ingest = only(handle, 'evaluateTransfer')[0].input.ingest as { cached: boolean; activities: number };
  assert.equal(ingest.cached, true);
  assert.equal(ingest.activities, 2, 'listing and plan');
});

test('transfer: an ingest shard that fails once is retried, the run completes', async () => {
  const handle = await start('transferLearning', transferInput('features'), { shards: 1, failOnce: 'ingestImageShard' });
  const result = await handle.result();
  assert.equal(result.chosenMethod, 'features');
  assert.deepEqual(only(handle, 'ingestImageShard').map((c) => c.attempt), [1, 2]);
  assert.equal((await handle.query(progressQuery)).step, 'done');
});

test('transfer: bad input fails the run at once with its type and message, progress "failed"', async () => {
  const error = new ImageFolderError('/photos: no class folders');
  const handle = await start('transferLearning', transferInput('both'), { fail: { activity: 'planImageDataset', error } });
  const err = await handle.result().then(
    () => assert.fail('the run succeeded'),
    (e: unknown) => e,
  );
  assertBadInput(err, 'ImageFolderError', error.message);
  assert.deepEqual(namesOf(handle), ['describeBackbone', 'listImageFiles', 'planImageDataset'], 'not retried, nothing after it');
  assert.equal((await handle.query(progressQuery)).step, 'failed');
  assert.deepEqual(await stepsUpserted(handle), ['backbone', 'ingest', 'failed']);
});

function assertBadInput(err: unknown, type: string, message: string): void {
  assert.ok(err instanceof WorkflowFailedError, String(err));
  assert.ok(err.cause instanceof ActivityFailure, String(err.cause));
  const failure = err.cause.cause;
  assert.ok(failure instanceof ApplicationFailure, String(failure));
  assert.equal(failure.type, type);
  assert.equal(failure.message, message);
  assert.equal(failure.nonRetryable, true);
}
