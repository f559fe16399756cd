// Shared helpers for integration tests: they run against the real local stack
// (`tl stack up`), each test file with its own task queue and its own worker processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { z } from 'zod';
import { loadConfig, type Config } from '../../lib/config';
import { ArtifactStore } from '../../lib/store/store';
import { temporalConnectionOptions } from '../../temporal/connection';
import type { RunProgress } from '../../contracts';
import { ProgressFollower } from '../../cli/live-progress';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const TL_BIN = path.join(REPO_ROOT, 'bin', 'tl');

/** Environment for a test: the default stack, but a task queue nobody else serves. */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const suffix = randomBytes(4).toString('hex');
  return { ...process.env, TL_TASK_QUEUE_CPU: `tl-test-cpu-${suffix}`, TL_TASK_QUEUE_GPU: `tl-test-gpu-${suffix}`, ...extra };
}

export function testConfig(env: NodeJS.ProcessEnv): Config {
  return loadConfig(env);
}

export async function temporalClient(config: Config): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** A stored JSON document for a test to inspect: hash-verified and parsed; the test says what it expects. */
export async function readJson<T>(store: ArtifactStore, key: string): Promise<T> {
  return (await store.getJson(key, z.unknown())) as T;
}

export function testStore(config: Config): ArtifactStore {
  return ArtifactStore.fromConfig(config);
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts `tl worker` as a separate process and waits until it polls its queue. */
export async function startWorker(env: NodeJS.ProcessEnv, queue: 'cpu' | 'gpu' = 'cpu'): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [TL_BIN, 'worker', '--queue', queue], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 120 s:\n${log}`)), 120_000);
    const check = () => {
      if (log.includes('worker serving task queue')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before serving:\n${log}`));
    });
  });
  return {
    child,
    output: () => log,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Runs `tl` with arguments; resolves with its exit code and output. */
export function runTl(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TL_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A probe's answer; one that fails, or hangs (e.g. a query nobody answers), counts as no answer yet. */
function answerOrNothing<T>(probe: Promise<T | undefined>, patienceMs = 15_000): Promise<T | undefined> {
  return Promise.race([probe.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), patienceMs).unref())]);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await answerOrNothing(probe());
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Polls the run's live progress (as `tl run --wait` sees it: recorded state plus the server's
 * latest heartbeats) until `ready` says so. Fails at once when the run leaves training or
 * closes first (the moment for the fault has passed), rather than waiting for a time-out.
 */
export async function waitForTraining(handle: WorkflowHandle, ready: (p: RunProgress) => boolean, timeoutMs = 300_000): Promise<RunProgress> {
  const deadline = Date.now() + timeoutMs;
  const follower = new ProgressFollower(handle);
  while (Date.now() < deadline) {
    const p = await answerOrNothing(follower.read());
    if (p && ready(p)) return p;
    if (p && ['evaluate', 'done', 'failed'].includes(p.step)) throw new Error(`run ${handle.workflowId} reached ${p.step} before the fault could be injected`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`run ${handle.workflowId}: training did not reach the expected point within ${timeoutMs / 1000} s`);
}

/**
 * The heartbeat details the server holds for the run's pending activity of this type: what a
 * retried attempt would resume from. Heartbeats reach the server throttled (every 2 s), so a
 * kill test waits for these rather than for the worker's own progress.
 */
export async function serverHeartbeat<T>(handle: WorkflowHandle, activityType: string): Promise<T | undefined> {
  const { raw } = await handle.describe();
  const pending = raw.pendingActivities?.find((a) => a.activityType?.name === activityType);
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<T>(payload as Payload) : undefined;
}
