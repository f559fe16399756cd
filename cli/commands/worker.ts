// `tl worker`: serve a task queue until interrupted. The worker code is loaded only when it runs.
import { Option, type Command } from 'commander';
import type { WorkerBackend } from '../../workers/worker';
import { CliError, EXIT } from '../errors';
import { config, json, log as logFor, wantsJson } from '../context';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker until interrupted (on the CPU queue: workflows and activities, in two processes; --json: one JSON document once serving, logs go to stderr)')
    .addOption(new Option('--queue <queue>', 'which task queue to serve').choices(['cpu', 'gpu']).default('cpu'))
    .addOption(new Option('--only <part>', 'serve one part of the CPU queue in this process: its workflows or its activities').choices(['workflows', 'activities']))
    .action(async (opts: { queue: 'cpu' | 'gpu'; only?: 'workflows' | 'activities' }, cmd: Command) => {
      const cfg = config();
      const asJson = wantsJson(cmd);
      const log = logFor(cmd);
      const serving = (s: { taskQueue: string; backend?: WorkerBackend; pid: number; activitiesPid?: number }) => {
        if (asJson) json({ ...s, queue: opts.queue, address: cfg.temporal.address, namespace: cfg.temporal.namespace });
      };
      exitOnSecondSignal(log, cfg.worker.shutdownSeconds);
      const { serveHealth } = await import('../../workers/health');
      // Health is served where the queue is polled for the user: by the parent in the two-process form.
      const health = (worker: Parameters<typeof serveHealth>[0], taskQueue: string) => {
        if (cfg.worker.healthPort) serveHealth(worker, cfg.worker.healthPort, taskQueue);
      };
      if (opts.queue === 'cpu' && !opts.only) {
        const { runSplitWorker } = await import('../../workers/split');
        return runSplitWorker(cfg, log, serving, { json: asJson, onWorker: health });
      }
      if (opts.queue === 'gpu' && opts.only === 'workflows') throw new CliError('--only workflows: the GPU queue carries activities only; workflows run on the CPU queue', EXIT.usage);
      const { createWorker, servingLine } = await import('../../workers/worker');
      const { reportToParent } = await import('../../workers/split');
      const { worker, backend, taskQueue } = await createWorker(cfg, opts.queue, log, opts.only ?? (opts.queue === 'cpu' ? 'both' : 'activities'));
      if (!reportToParent({ taskQueue, backend })) {
        log(servingLine(cfg, taskQueue, opts.only ? `${opts.only} only` : ''));
        serving({ taskQueue, backend, pid: process.pid });
        health(worker, taskQueue);
      }
      await worker.run();
    });
}

/** The SDK shuts the worker down on the first SIGTERM/SIGINT; a second one means now. */
function exitOnSecondSignal(log: (line: string) => void, boundSeconds: number): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) log(`${signal}: stopping: no new tasks; running activities stop at their next batch with a checkpoint (at most ${boundSeconds} s; signal again to exit now)`);
    else process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
