// `tl schedule create|list|show|pause|unpause|trigger|delete`: retraining on a timetable.
import { Option, type Command } from 'commander';
import { CliError, EXIT } from '../errors';
import { connectTemporal } from '../connect';
import { config, emit, json, out, wantsJson } from '../context';
import { noteFlag } from '../flags';
import { addAllPipelineFlags, foreignFlags, PIPELINE_NAMES, pipelineStart, type PipelineName } from '../pipelines';
import { checkBackboneSpec } from '../backbones';
import {
  createSchedule,
  deleteSchedule,
  formatSchedule,
  listSchedules,
  OVERLAP_POLICIES,
  pauseSchedule,
  showSchedule,
  triggerSchedule,
  unpauseSchedule,
  type ScheduleCreateFlags,
  type ScheduleView,
} from '../schedule';

/** The options of `tl schedule create` itself; the pipeline's follow. */
function addScheduleFlags(cmd: Command): Command {
  return cmd
    .argument('<name>', 'schedule name (letters, digits, . _ -); also the TlSchedule search attribute of its runs')
    .option('--every <duration>', 'start a run at this interval, e.g. 24h, 30m')
    .option('--cron <expression>', 'start runs on this cron timetable (UTC), e.g. "0 3 * * *"')
    .addOption(new Option('--pipeline <pipeline>', 'which pipeline the runs use (required)').choices(PIPELINE_NAMES))
    .addOption(new Option('--overlap <policy>', 'when a run is due while the last one still runs').choices(Object.keys(OVERLAP_POLICIES)).default('skip'))
    .option('--catchup-window <duration>', 'runs missed while the server was down are still started within this window', '1h')
    .option('--paused', 'create the schedule paused')
    .addOption(noteFlag('a note shown with the schedule (e.g. why it is paused)'));
}

export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('scheduled retraining (Temporal Schedules): create, list, show, pause, unpause, trigger, delete');
  const print = (cmd: Command, value: ScheduleView | ScheduleView[]) =>
    emit(cmd, value, (v) => {
      const views = Array.isArray(v) ? v : [v];
      return views.length ? views.flatMap(formatSchedule) : 'no schedules: create one with `tl schedule create <name> --every 24h --pipeline lab-cnn`';
    });

  const create = addScheduleFlags(schedule.command('create'))
    .description('create a schedule that starts runs of a pipeline; takes the options of `tl run <pipeline>` too (ranges and defaults: `tl run <pipeline> --help`)');
  const own = create.options.map((o) => o.long!);
  addAllPipelineFlags(create).action(async (name: string, opts: ScheduleCreateFlags & { pipeline?: PipelineName }, cmd: Command) => {
    const pipeline = opts.pipeline;
    if (!pipeline) throw new CliError(`--pipeline is required: one of ${PIPELINE_NAMES.join(', ')}`, EXIT.usage);
    const foreign = foreignFlags(cmd, pipeline, own);
    if (foreign.length) throw new CliError(`unknown option '${foreign[0]}' (not an option of --pipeline ${pipeline})`, EXIT.usage);
    const { spec, backbone } = pipelineStart(config, cmd, pipeline, `schedule:${name}`);
    const cfg = config();
    if (backbone !== undefined) await checkBackboneSpec(cfg, backbone);
    const created = await createSchedule(await connectTemporal(cfg), cfg, name, spec, opts);
    if (wantsJson(cmd)) json(created);
    else {
      out(`created schedule ${name}`);
      formatSchedule(created).forEach(out);
    }
  });
  schedule
    .command('list')
    .description("tl's schedules")
    .action(async (_opts: unknown, cmd: Command) => print(cmd, await listSchedules(await connectTemporal(config()))));
  schedule
    .command('show <name>')
    .description("a schedule's timetable, policies, next and recent runs")
    .action(async (name: string, _opts: unknown, cmd: Command) => print(cmd, await showSchedule(await connectTemporal(config()), name)));
  schedule
    .command('pause <name>')
    .description('stop starting runs until unpaused')
    .addOption(noteFlag('why it is paused'))
    .action(async (name: string, opts: { note?: string }, cmd: Command) => print(cmd, await pauseSchedule(await connectTemporal(config()), name, opts.note)));
  schedule
    .command('unpause <name>')
    .description('start runs on the timetable again')
    .action(async (name: string, _opts: unknown, cmd: Command) => print(cmd, await unpauseSchedule(await connectTemporal(config()), name)));
  schedule
    .command('trigger <name>')
    .description('start a run now, even if one is running')
    .action(async (name: string, _opts: unknown, cmd: Command) => emit(cmd, await triggerSchedule(await connectTemporal(config()), name), (triggered) => triggered.runId ? `started run ${triggered.runId}` : `triggered schedule ${name}`));
  schedule
    .command('delete <name>')
    .description('delete a schedule (runs it started go on)')
    .action(async (name: string, _opts: unknown, cmd: Command) => emit(cmd, await deleteSchedule(await connectTemporal(config()), name), () => `deleted schedule ${name}`));
}
