// `tl schedule …`: retraining on a timetable with Temporal Schedules. A schedule starts the same
// run `tl run <pipeline>` would, tagged with the schedule's name (TlSchedule search attribute and
// `requestedBy: "schedule:<name>"` in its input). The schedule's id is its name.
import type { Client, ScheduleDescription, ScheduleHandle, ScheduleOverlapPolicy, ScheduleSummary } from '@temporalio/client';
import ms from 'ms';
import type { Config } from '../lib/config';
import { PIPELINE_WORKFLOW_TYPES, startSearchAttributes } from '../contracts/search-attributes';
import { CliError, EXIT } from './errors';
import type { PipelineStart } from './run';

export const OVERLAP_POLICIES = { skip: 'SKIP', 'buffer-one': 'BUFFER_ONE' } as const satisfies Record<string, ScheduleOverlapPolicy>;
export type OverlapFlag = keyof typeof OVERLAP_POLICIES;

export interface ScheduleCreateFlags {
  every?: string;
  cron?: string;
  overlap: OverlapFlag;
  catchupWindow: string;
  paused?: boolean;
  note?: string;
}

/** What `tl schedule list/show` print (and `--json` returns). */
export interface ScheduleView {
  name: string;
  pipeline?: string;
  /** `every 24h` or `cron 0 3 * * *`, as given at creation. */
  spec?: string;
  paused: boolean;
  note?: string;
  overlap?: string;
  catchupWindow?: string;
  nextRuns: string[];
  recentRuns: { runId: string; scheduledAt: string; startedAt: string }[];
  runningRuns?: string[];
  options?: Record<string, unknown>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function validScheduleName(name: string): string {
  if (!NAME.test(name)) {
    throw new CliError(`schedule name ${JSON.stringify(name)} is invalid: expected 1-100 letters, digits and . _ - (starting with a letter or digit)`, EXIT.usage);
  }
  return name;
}

/** A duration with a unit ("90s", "2m", "24h", "1d"), whole seconds, at least one second. */
export function parseDuration(flag: string, raw: string): number {
  // A bare number would be milliseconds to `ms`: a unit is required.
  const millis = /[a-z]/i.test(raw) ? (ms(raw as ms.StringValue) as number | undefined) : undefined;
  if (millis === undefined || !Number.isFinite(millis) || millis < 1000 || millis % 1000 !== 0) {
    throw new CliError(`${flag} ${JSON.stringify(raw)} is invalid: expected a duration of whole seconds, at least 1s, such as 90s, 2m, 24h or 1d`, EXIT.usage);
  }
  return millis;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

function timing(flags: ScheduleCreateFlags): { spec: { intervals: { every: number }[] } | { cronExpressions: string[] }; text: string } {
  if ((flags.every === undefined) === (flags.cron === undefined)) {
    throw new CliError('give exactly one of --every <duration> and --cron "<expression>"', EXIT.usage);
  }
  if (flags.every !== undefined) {
    const every = parseDuration('--every', flags.every);
    return { spec: { intervals: [{ every }] }, text: `every ${formatDuration(every)}` };
  }
  const cron = flags.cron!.trim();
  if (cron.split(/\s+/).length < 5 && !cron.startsWith('@')) {
    throw new CliError(`--cron ${JSON.stringify(flags.cron)} is invalid: expected 5 fields (minute hour day-of-month month day-of-week) or @daily, @hourly…`, EXIT.usage);
  }
  return { spec: { cronExpressions: [cron] }, text: `cron ${cron}` };
}

export async function createSchedule(client: Client, config: Config, name: string, run: PipelineStart, flags: ScheduleCreateFlags): Promise<ScheduleView> {
  validScheduleName(name);
  const { spec, text } = timing(flags);
  const catchupWindow = parseDuration('--catchup-window', flags.catchupWindow);
  if (catchupWindow < 10_000) throw new CliError(`--catchup-window ${JSON.stringify(flags.catchupWindow)} is invalid: Temporal needs at least 10s`, EXIT.usage);
  try {
    await client.schedule.create({
      scheduleId: name,
      spec,
      action: {
        type: 'startWorkflow',
        workflowType: run.workflowType,
        args: run.args,
        taskQueue: config.taskQueues.cpu,
        // Temporal appends the scheduled time to this, so each run has its own id.
        workflowId: `${run.pipeline}-${name}`,
        typedSearchAttributes: startSearchAttributes({ ...run.labels, schedule: name }),
        memo: run.memo,
        staticSummary: run.summary,
        staticDetails: run.details,
      },
      policies: { overlap: OVERLAP_POLICIES[flags.overlap], catchupWindow },
      state: { paused: flags.paused ?? false, note: flags.note },
      memo: { spec: text, pipeline: run.pipeline },
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'ScheduleAlreadyRunning') throw new CliError(`schedule ${name} already exists: pick another name, or \`tl schedule delete ${name}\` first`, EXIT.usage);
    // Temporal is the authority on cron syntax; it reports a bad expression as a TypeError or INVALID_ARGUMENT.
    if (flags.cron !== undefined && (e.name === 'TypeError' || (e as { code?: number }).code === 3 || /INVALID_ARGUMENT/.test(e.message))) {
      throw new CliError(`--cron ${JSON.stringify(flags.cron)} is invalid: ${e.message.replace(/^\d+ INVALID_ARGUMENT: /, '')}`, EXIT.usage);
    }
    throw err;
  }
  return showSchedule(client, name);
}

/** Turns "schedule not found" into a one-line error naming the schedule. */
async function withSchedule<T>(client: Client, name: string, act: (handle: ScheduleHandle) => Promise<T>): Promise<T> {
  try {
    return await act(client.schedule.getHandle(validScheduleName(name)));
  } catch (err) {
    if ((err as Error).name === 'ScheduleNotFoundError') throw new CliError(`schedule ${name} does not exist (see \`tl schedule list\`)`, EXIT.usage);
    throw err;
  }
}

function view(name: string, d: ScheduleDescription | ScheduleSummary): ScheduleView {
  const memo = (d.memo ?? {}) as { spec?: string; pipeline?: string };
  const shown: ScheduleView = {
    name,
    pipeline: memo.pipeline,
    spec: memo.spec,
    paused: d.state.paused,
    note: d.state.note || undefined,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      runId: a.action.workflow.workflowId,
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
    })),
  };
  if ('policies' in d) {
    shown.overlap = d.policies.overlap?.toLowerCase().replace('_', '-');
    shown.catchupWindow = formatDuration(d.policies.catchupWindow);
    shown.runningRuns = d.info.runningActions.map((a) => a.workflow.workflowId);
    if (d.action.type === 'startWorkflow') shown.options = d.action.memo as Record<string, unknown> | undefined;
  }
  return shown;
}

export async function showSchedule(client: Client, name: string): Promise<ScheduleView> {
  return withSchedule(client, name, async (handle) => view(name, await handle.describe()));
}

/** tl's schedules: those whose action starts one of the pipelines. */
export async function listSchedules(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.type === 'startWorkflow' && (PIPELINE_WORKFLOW_TYPES as readonly string[]).includes(s.action.workflowType)) views.push(view(s.scheduleId, s));
  }
  return views.sort((a, b) => a.name.localeCompare(b.name));
}

export async function pauseSchedule(client: Client, name: string, note?: string): Promise<ScheduleView> {
  return withSchedule(client, name, async (handle) => {
    await handle.pause(note ?? 'paused with tl schedule pause');
    return view(name, await handle.describe());
  });
}

export async function unpauseSchedule(client: Client, name: string): Promise<ScheduleView> {
  return withSchedule(client, name, async (handle) => {
    await handle.unpause('unpaused with tl schedule unpause');
    return view(name, await handle.describe());
  });
}

/** Starts a run now, even while another is running, and returns its run id once Temporal has started it. */
export async function triggerSchedule(client: Client, name: string): Promise<{ name: string; runId?: string }> {
  return withSchedule(client, name, async (handle) => {
    const before = new Set((await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
    await handle.trigger('ALLOW_ALL');
    for (let i = 0; i < 40; i++) {
      const started = (await handle.describe()).info.recentActions.find((a) => !before.has(a.action.workflow.workflowId));
      if (started) return { name, runId: started.action.workflow.workflowId };
      await new Promise((r) => setTimeout(r, 250));
    }
    return { name };
  });
}

/** Deletes the schedule; runs it already started go on. */
export async function deleteSchedule(client: Client, name: string): Promise<{ name: string; deleted: true }> {
  return withSchedule(client, name, async (handle) => {
    await handle.delete();
    return { name, deleted: true as const };
  });
}

export function formatSchedule(s: ScheduleView): string[] {
  const lines = [
    `${s.name}: ${s.pipeline ?? '?'} ${s.spec ?? ''}${s.paused ? ' (paused' + (s.note ? `: ${s.note}` : '') + ')' : ''}`,
  ];
  if (s.overlap) lines.push(`  overlap ${s.overlap}, catch-up window ${s.catchupWindow}`);
  if (s.nextRuns.length) lines.push(`  next: ${s.nextRuns.slice(0, 3).join(', ')}`);
  for (const r of s.recentRuns.slice(-5)) lines.push(`  run ${r.runId} started ${r.startedAt}`);
  if (s.runningRuns?.length) lines.push(`  running: ${s.runningRuns.join(', ')}`);
  if (s.options) lines.push(`  options: ${JSON.stringify(s.options)}`);
  return lines;
}
