// `tl worker` on the CPU queue: the workflows in this process, the activities in a child process.
// tfjs kernels run synchronously and can hold a thread for seconds; in a process of their own
// they never delay a workflow task (which must finish within its 10 s timeout, and here finishes
// in milliseconds), and workflow tasks never take CPU time from a training batch's event loop.
//
// Lifetimes are tied together: SIGINT/SIGTERM here is passed on once and both parts drain;
// if the activities process exits, this one stops too; if this process dies without warning
// (SIGKILL), the child sees its IPC channel close and exits at once, as a crashed worker would.
import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import type { Worker } from '@temporalio/worker';
import type { Config } from '../lib/config';
import { createWorker, servingLine, type WorkerBackend } from './worker';

/** How much nicer (lower in CPU priority) the activities process runs than the workflows one. */
const ACTIVITIES_NICENESS = 5;

/** What the activities process tells its parent once it polls. */
export interface ActivitiesReady {
  tlActivitiesReady: { taskQueue: string; backend?: WorkerBackend };
}

export interface SplitWorkerInfo {
  taskQueue: string;
  backend?: WorkerBackend;
  pid: number;
  activitiesPid: number;
}

/**
 * Starts both parts and resolves once both have stopped; `onServing` is called when both poll.
 * The child runs `tl worker --queue cpu --only activities` (`entry`: the tl script, this one's).
 */
export async function runSplitWorker(
  config: Config,
  log: (line: string) => void,
  onServing: (info: SplitWorkerInfo) => void,
  opts: { json?: boolean; entry?: string; onWorker?: (worker: Worker, taskQueue: string) => void } = {},
): Promise<void> {
  const args = ['worker', '--queue', 'cpu', '--only', 'activities', ...(opts.json ? ['--json'] : [])];
  // Its own process group: a terminal's Ctrl-C reaches this process only, which passes it on once.
  const child = fork(opts.entry ?? process.argv[1], args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  // Workflow tasks are tiny and wait on latency; training is throughput: it yields the CPU first.
  try {
    os.setPriority(child.pid!, Math.min(19, os.getPriority() + ACTIVITIES_NICENESS));
  } catch {
    /* not permitted here: both run at the same priority */
  }
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  const ready = activitiesReady(child, exited);
  // Once only: the child's SDK drains on the first signal and takes a second as "stop now".
  let forwarded = false;
  const forward = (signal: NodeJS.Signals) => {
    if (forwarded || child.exitCode !== null || child.signalCode !== null) return;
    forwarded = true;
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const started = await Promise.all([createWorker(config, 'cpu', log, 'workflows'), ready]).catch((err) => {
      // Neither part serves without the other.
      forward('SIGTERM');
      throw err;
    });
    const [workflows, activities] = started;
    log(servingLine(config, workflows.taskQueue, `workflows in process ${process.pid}, activities in process ${child.pid}`));
    onServing({ taskQueue: workflows.taskQueue, backend: activities.backend, pid: process.pid, activitiesPid: child.pid! });
    opts.onWorker?.(workflows.worker, workflows.taskQueue);
    // The activities process ending (a crash, or a signal sent to it alone) stops the workflows too.
    void exited.then(() => {
      if (workflows.worker.getState() === 'RUNNING') workflows.worker.shutdown();
    });
    try {
      await workflows.worker.run();
    } finally {
      await workflows.connection.close();
      forward('SIGTERM');
    }
    const code = await exited;
    if (code !== 0) process.exitCode = code;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

function activitiesReady(child: ChildProcess, exited: Promise<number>): Promise<ActivitiesReady['tlActivitiesReady']> {
  return new Promise((resolve, reject) => {
    child.on('message', (message: Partial<ActivitiesReady>) => {
      if (message?.tlActivitiesReady) resolve(message.tlActivitiesReady);
    });
    void exited.then((code) => reject(new Error(`the activities worker exited with code ${code} before it served`)));
  });
}

/**
 * In the activities process started by runSplitWorker: tells the parent it polls, and exits at
 * once should the parent vanish. Returns false when this process was not started that way.
 */
export function reportToParent(ready: ActivitiesReady['tlActivitiesReady']): boolean {
  if (!process.send || !process.connected) return false;
  process.send({ tlActivitiesReady: ready } satisfies ActivitiesReady);
  process.once('disconnect', () => {
    process.stderr.write('tl worker (activities): the workflows process is gone; exiting\n');
    process.exit(1);
  });
  return true;
}
