// `tl runs list|show|cancel`: the runs Temporal knows, by their search attributes.
import { Option, type Command } from 'commander';
import { RUN_STATUSES, type RunFilters } from '../../contracts/search-attributes';
import { intOption } from '../errors';
import { connectTemporal } from '../connect';
import { config, json, out, wantsJson } from '../context';
import { PIPELINE_NAMES } from '../pipelines';
import { cancelRun, listRuns, showRun } from '../runs';

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('list, inspect and cancel runs');
  runs
    .command('list')
    .description("recent runs, newest first, optionally filtered (a visibility query on the run's search attributes)")
    .option('--limit <n>', 'how many', intOption('--limit', 1, 1000), 20)
    .addOption(new Option('--status <status>', 'only runs in this state').choices(Object.keys(RUN_STATUSES)))
    .addOption(new Option('--pipeline <pipeline>', 'only runs of this pipeline').choices(PIPELINE_NAMES))
    .option('--schedule <name>', 'only runs started by this schedule')
    .action(async (opts: RunFilters & { limit: number }, cmd: Command) => {
      const list = await listRuns(await connectTemporal(config()), opts.limit, { status: opts.status, pipeline: opts.pipeline, schedule: opts.schedule });
      if (wantsJson(cmd)) return json(list);
      if (!list.length) return out('no runs match: start one with `tl run lab-cnn --wait`');
      for (const r of list) {
        const accuracy = r.bestAccuracy === undefined ? '' : `${(r.bestAccuracy * 100).toFixed(2)}%`;
        out(`${r.id.padEnd(40)} ${r.status.padEnd(11)} ${(r.step ?? '').padEnd(9)} ${accuracy.padStart(7)}  ${r.started ?? ''}  ${r.schedule ? `schedule ${r.schedule}` : ''}`.trimEnd());
      }
    });
  runs
    .command('show <id>')
    .description("a run's status, live progress or result, as JSON (with or without --json)")
    .action(async (id: string) => json(await showRun(await connectTemporal(config()), id)));
  runs
    .command('cancel <id>')
    .description('cancel a running run')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await cancelRun(await connectTemporal(config()), id);
      if (wantsJson(cmd)) json({ id, cancelRequested: true });
      else out(`cancellation requested for ${id}`);
    });
}
