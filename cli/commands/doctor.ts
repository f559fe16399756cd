// `tl doctor`: checks the stack, credentials, backends, workers, data, browser and disk.
// The checks load TensorFlow.js and infra/stack, so they are imported only when it runs.
import type { Command } from 'commander';
import { EXIT } from '../errors';
import { config, json, out, wantsJson } from '../context';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the stack, credentials, TensorFlow.js backends, workers, data, browser and disk; say how to fix what is wrong')
    .action(async (_opts: unknown, cmd: Command) => {
      const { runDoctor, formatChecks, doctorFailed } = await import('../doctor');
      const checks = await runDoctor(config());
      if (wantsJson(cmd)) json({ ok: !doctorFailed(checks), checks });
      else out(formatChecks(checks));
      if (doctorFailed(checks)) process.exitCode = EXIT.failure;
    });
}
