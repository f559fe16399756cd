// The `tl` command line: each noun's commands are registered by cli/commands/<noun>.ts; this
// file wires them into one program and turns errors into one line (or one JSON document).
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors';
import { json, jsonMode } from './context';
import { registerBackbones } from './commands/backbones';
import { registerDoctor } from './commands/doctor';
import { registerModels } from './commands/models';
import { registerPredict } from './commands/predict';
import { registerReport } from './commands/report';
import { registerRun } from './commands/run';
import { registerRuns } from './commands/runs';
import { registerSchedule } from './commands/schedule';
import { registerStack } from './commands/stack';
import { registerWorker } from './commands/worker';

let usageMessage: string | undefined;

export function buildProgram(): Command {
  const program = new Command('tl')
    .description('Train image classifiers by transfer learning, as Temporal workflows with artifacts in S3')
    .option('--json', 'machine-readable output: stdout carries one JSON document, errors included; human text goes to stderr')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      // Usage errors as one line: "tl: unknown option '--epoch' (Did you mean --epochs?)".
      writeErr: (s) => {
        const line = s.startsWith('error:') ? s.slice(7).trim().replace(/\s*\n\s*/g, ' ') : undefined;
        if (jsonMode && line) usageMessage = line;
        else process.stderr.write(line ? `tl: ${line}\n` : s);
      },
    });
  for (const register of [registerStack, registerRun, registerSchedule, registerPredict, registerRuns, registerModels, registerBackbones, registerReport, registerDoctor, registerWorker]) {
    register(program);
  }
  return program;
}

/** Runs the command line (bin/tl); tests build the program alone. */
export async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (unless --json); help and version are not failures.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      if (jsonMode && err.exitCode !== 0) json({ error: usageMessage ?? err.message, exitCode: EXIT.usage });
    } else {
      const e = err as Error & { exitCode?: number; cause?: Error };
      const message = (e.name === 'WorkflowFailedError' && e.cause ? describeFailure(e) : e.message).split('\n')[0];
      process.exitCode = e instanceof CliError ? e.exitCode : e.name === 'ConfigError' ? EXIT.usage : EXIT.failure;
      if (jsonMode) json({ error: message, exitCode: process.exitCode });
      else process.stderr.write(`tl: ${message}\n`);
    }
  }
  // Open gRPC channels would keep the process alive: flush output, then leave.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit();
}

/** The innermost cause of a failed workflow is the one a person can act on. */
function describeFailure(err: Error): string {
  let cause: Error = err;
  while (cause.cause instanceof Error) cause = cause.cause;
  return `run failed: ${cause.message}`;
}
