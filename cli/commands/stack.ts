// `tl stack up|down|status`: the local stack. infra/stack is loaded only when a command runs.
import type { Command } from 'commander';
import { EXIT } from '../errors';
import { config, json, log, out, wantsJson } from '../context';

export function registerStack(program: Command): void {
  const stack = program.command('stack').description('the local stack (Temporal dev server + MinIO), without Docker');
  stack
    .command('up')
    .description('install what is missing, start Temporal and MinIO on loopback, create the bucket (--json: the status after start; progress goes to stderr)')
    .option('--tls', 'the secured stack (as TL_STACK_TLS=1): generated CA and certificates, HTTPS MinIO, a Temporal frontend that requires client certificates')
    .action(async (opts: { tls?: boolean }, cmd: Command) => {
      const { stackUp } = await import('../../infra/stack');
      const cfg = config();
      if (opts.tls) cfg.stack.tls = true;
      const status = await stackUp(cfg, log(cmd));
      if (wantsJson(cmd)) json(status);
      else printStatus(status);
    });
  stack
    .command('down')
    .description('stop what `tl stack up` started (--json: what was done, and the status after)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { stackDown, stackStatus } = await import('../../infra/stack');
      const lines: string[] = [];
      await stackDown(config(), wantsJson(cmd) ? (line) => lines.push(line) : out);
      if (wantsJson(cmd)) json({ log: lines, status: await stackStatus(config()) });
    });
  stack
    .command('status')
    .description('show the state of each service')
    .action(async (_opts: unknown, cmd: Command) => {
      const { stackStatus } = await import('../../infra/stack');
      const status = await stackStatus(config());
      if (wantsJson(cmd)) json(status);
      else printStatus(status);
      const healthy = status.temporal.healthy && status.minio.healthy;
      if (!healthy) process.exitCode = EXIT.stackDown;
    });
}

function printStatus(status: object): void {
  for (const value of Object.values(status)) {
    const s = value as { name: string; url?: string; healthy?: boolean; exists?: boolean; pid?: number; startedByTl?: boolean; detail?: string };
    const ok = s.healthy ?? s.exists;
    const extra = [s.pid ? `pid ${s.pid}` : '', s.startedByTl === false && ok ? 'not started by tl' : '', s.detail ?? ''].filter(Boolean).join(', ');
    out(`${ok ? 'up  ' : 'down'}  ${s.name.padEnd(12)} ${s.url ?? ''}${extra ? `  (${extra})` : ''}`);
  }
}
