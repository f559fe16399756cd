// The offline GPU-worker bundle (scripts/gpu-bundle.sh), unpacked and started with a PATH
// that has no node: it serves the GPU queue of a real transfer run while a CPU worker from
// this checkout runs the workflow. Where a Vulkan driver is known (a GPU's, or the software one
// scripts/webgpu-backend.sh stages) the bundle must fine-tune on webgpu. Set TL_GPU_BUNDLE to
// the built .tar.xz to run it (scripts/test.sh does).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { REPO_ROOT, runTl, startWorker, temporalClient, testConfig, testEnv, testStore, type WorkerProcess, readJson } from './harness';
import { transferKeys } from '../../lib/transfer';
import type { TransferReport } from '../../lib/report/transfer';
import { ENV_VARS } from '../../lib/config';
import { vulkanEnv } from '../software-vulkan';

const BUNDLE = process.env.TL_GPU_BUNDLE;
const DATA = path.resolve(REPO_ROOT, '../shared/data/datasets/hymenoptera_data');
const BACKBONE = path.resolve(REPO_ROOT, '../shared/data/models/mobilenet_v1_0.25_224');
const skip = !BUNDLE
  ? 'set TL_GPU_BUNDLE to a bundle built by scripts/gpu-bundle.sh'
  : !(fs.existsSync(DATA) && fs.existsSync(BACKBONE)) && 'needs ../shared/data (hymenoptera_data and mobilenet_v1_0.25_224)';

const env = testEnv();
const vulkan = vulkanEnv();
const config = testConfig(env);
let unpacked: string;
let bundled: { child: ChildProcess; log: () => string } | undefined;
let cpuWorker: WorkerProcess | undefined;
let client: Client;

before(async () => {
  if (skip) return;
  unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-gpu-bundle-test-'));
  execFileSync('tar', ['-xJf', path.resolve(BUNDLE!), '-C', unpacked]);
  cpuWorker = await startWorker(env, 'cpu');
  client = await temporalClient(config);
});

after(async () => {
  if (bundled?.child.exitCode === null) bundled.child.kill('SIGKILL');
  await cpuWorker?.stop('SIGKILL');
  await client?.connection.close();
  if (unpacked) fs.rmSync(unpacked, { recursive: true, force: true });
});

/**
 * Starts the unpacked bundle's launcher with only HOME, the TL_* settings, a PATH without
 * node and the Vulkan driver, if any (webgpu forced: `auto` passes over a software driver).
 */
async function startBundledWorker(): Promise<{ child: ChildProcess; log: () => string }> {
  const [dir] = fs.readdirSync(unpacked);
  const tlVars = Object.fromEntries(Object.keys(ENV_VARS).flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
  const child = spawn(path.join(unpacked, dir, 'tl-gpu'), [], {
    env: { HOME: os.homedir(), PATH: '/nonexistent', ...tlVars, ...vulkan, ...(vulkan.VK_DRIVER_FILES ? { TL_BACKEND: 'webgpu' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bundled worker did not start within 120 s:\n${log}`)), 120_000);
    child.stdout!.on('data', () => log.includes('worker serving task queue') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`bundled worker exited with ${code}:\n${log}`))));
  });
  return { child, log: () => log };
}

test('the unpacked bundle runs without a system node and fine-tunes on the GPU queue', { skip }, async () => {
  const started = Date.now();
  bundled = await startBundledWorker();
  const startSeconds = (Date.now() - started) / 1000;
  // It says which backend it picked and why the others were passed over.
  assert.match(bundled.log(), vulkan.VK_DRIVER_FILES ? /backend: webgpu on [^\n]+\[tried webgpu\]/ : /backend: (tensorflow|webgpu|wasm|cpu)[^\n]*\[tried /);
  assert.match(bundled.log(), new RegExp(`worker serving task queue ${config.taskQueues.gpu} `));

  const id = `test-gpu-bundle-${Date.now().toString(36)}`;
  const stages = JSON.stringify([{ name: 'head', unfreeze: 'head', epochs: 1, learningRate: 0.001 }]);
  const runStarted = Date.now();
  const r = await runTl(['run', 'transfer', '--method', 'finetune', '--data', DATA, '--backbone', BACKBONE, '--stages', stages, '--seed', '3', '--id', id, '--wait'], env);
  assert.equal(r.code, 0, r.stdout + r.stderr + bundled.log());
  const report = await readJson<TransferReport>(testStore(config), transferKeys(id).reportJson);
  assert.equal(report.methods.find((m) => m.method === 'finetune')?.stages?.length, 1);

  // The fine-tuning activity was picked up by the bundled process, not by some other worker.
  const history = await client.workflow.getHandle(id).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fineTune');
  assert.ok(scheduled, 'a fineTune activity was scheduled');
  const startedEvent = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
  assert.match(startedEvent?.activityTaskStartedEventAttributes?.identity ?? '', new RegExp(`^${bundled.child.pid}@`));
  if (vulkan.VK_DRIVER_FILES) {
    // Dawn went through the Vulkan loader shipped in the bundle's lib/, not the system's.
    const maps = fs.readFileSync(`/proc/${bundled.child.pid}/maps`, 'utf8');
    const [dir] = fs.readdirSync(unpacked);
    assert.ok(maps.includes(path.join(unpacked, dir, 'lib', 'libvulkan.so.1')), 'the bundled libvulkan is loaded');
  }
  console.log(bundled.log().match(/backend: [^\n]*/)?.[0]);
  console.log(`bundled worker: started in ${startSeconds.toFixed(1)} s; transfer run (finetune, 1 epoch) ${((Date.now() - runStarted) / 1000).toFixed(1)} s`);
});
