// What the end-to-end benches share: running tl commands and peer scripts as child processes
// (their last JSON document as the result), starting `tl worker`s, the local stack, and an
// empty bucket of the bench's own. An interrupted bench ends every child it started.
import { spawn, type ChildProcess } from 'node:child_process';
import path = require('node:path');
import type { ArtifactStore } from '../lib/store/store';

const REPO = path.resolve(__dirname, '..', '..');
export const TL = path.join(REPO, 'bin', 'tl');

/** Children still running (peer scripts, tl commands, workers). */
const live = new Set<ChildProcess>();
function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Interrupted: no worker or peer may outlive the bench. */
export function endChildrenOnSignal(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGTERM');
      process.exit(130);
    });
  }
}

export interface Timed<T> {
  seconds: number;
  value: T;
}

/** Runs a command to completion; its stdout parsed as the last JSON document it printed. */
export async function runJson<T>(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed<T>> {
  const start = process.hrtime.bigint();
  const child = track(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} exited ${code}: ${(stderr || stdout).trim().split('\n').slice(-3).join(' | ')}`);
  const last = stdout.trim().lastIndexOf('\n{');
  return { seconds, value: JSON.parse(last >= 0 ? stdout.trim().slice(last + 1) : stdout) as T };
}

export interface WorkerDoc {
  taskQueue: string;
  backend: { name: string; description: string; passedOver: { name: string; reason: string }[] };
}

/** `tl worker --queue Q --json`, resolved once it serves. */
export function startWorker(queue: 'cpu' | 'gpu', env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; doc: WorkerDoc }> {
  const child = track(spawn(process.execPath, [TL, 'worker', '--queue', queue, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`the ${queue} worker did not start within 120 s: ${stderr.slice(-500)}`)), 120_000);
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => {
      stdout += d;
      try {
        const doc = JSON.parse(stdout) as WorkerDoc;
        clearTimeout(timer);
        resolve({ child, doc });
      } catch {
        /* not complete yet */
      }
    });
    child.once('exit', (code) => reject(new Error(`the ${queue} worker exited ${code}: ${stderr.slice(-500)}`)));
  });
}

/** Starts the local stack (`tl stack up`) unless Temporal and MinIO are already healthy. */
export async function ensureStack(bench: string, env: NodeJS.ProcessEnv): Promise<void> {
  const status = await runJson<Record<string, { healthy?: boolean }>>(process.execPath, [TL, 'stack', 'status', '--json'], env).catch(() => null);
  const healthy = status && ['temporal', 'minio'].every((s) => status.value[s]?.healthy);
  if (!healthy) {
    console.log(`${bench}: starting the local stack (tl stack up)`);
    await runJson(process.execPath, [TL, 'stack', 'up', '--json'], env);
  }
}

export async function emptyBucket(store: ArtifactStore): Promise<void> {
  for (const key of await store.list('')) await store.delete(key);
}
