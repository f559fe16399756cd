// A run's progress as people see it: one line of text and one fraction of the run's expected
// work. Pure code shared by the workflows (their Web UI details), the activities (what their
// heartbeats carry) and the CLI (the progress bar, `tl runs show`).
//
// Where the numbers come from: every activity heartbeat carries a StepProgress; the server keeps
// only the latest, so a beat costs nothing in history. The workflow records state only at step
// boundaries and, at most once per RECORD_EVERY_SECONDS (contracts/steps.ts), at an epoch boundary (one signal: four
// history events). Clients merge both (mergeLive).
import { z } from 'zod';
import type { RunProgress, StepProgress } from '../contracts';

/** What every tl activity heartbeat holds; activities add their own fields (a checkpoint). */
export interface ProgressBeat {
  progress: StepProgress;
}

/** The StepProgress inside heartbeat details, if they hold one. */
export function progressOfBeat(details: unknown): StepProgress | undefined {
  const parsed = beatSchema.safeParse(details);
  return parsed.success ? parsed.data.progress : undefined;
}

const count = z.number().int().nonnegative();
/** A heartbeat's progress as clients read it back: only the step is required; a malformed field (a NaN loss arrives as null) is dropped, not the beat. */
const beatSchema = z.object({
  progress: z.object({
    step: z.string(),
    fraction: z.number().optional().catch(undefined),
    epoch: count.optional().catch(undefined),
    epochs: count.optional().catch(undefined),
    batch: count.optional().catch(undefined),
    batches: count.optional().catch(undefined),
    loss: z.number().optional().catch(undefined),
    accuracy: z.number().optional().catch(undefined),
    valAccuracy: z.number().optional().catch(undefined),
    imagesPerSecond: z.number().optional().catch(undefined),
    done: count.optional().catch(undefined),
    total: count.optional().catch(undefined),
    activities: z.object({ finished: count, total: count }).optional().catch(undefined),
    message: z.string().optional().catch(undefined),
  }) satisfies z.ZodType<StepProgress>,
});

/** Share of an epoch loop done: epochs before this one, then this one's batches. */
export function epochFraction(epoch: number, epochs: number, batch: number, batches: number): number {
  if (epochs <= 0) return 0;
  const within = batches > 0 ? batch / batches : 1;
  return clamp01((epoch - 1 + within) / epochs);
}

/**
 * The workflow's recorded progress with the pending activities' latest heartbeats folded in.
 * A fanned-out step (activities: finished of total) counts each running activity's share.
 */
export function mergeLive(state: RunProgress, beats: StepProgress[]): RunProgress {
  const live = beats.filter((b) => b.step === state.step);
  if (live.length === 0) return state;
  const recorded = state.detail?.step === state.step ? state.detail : undefined;
  if (recorded?.activities) {
    const { finished, total } = recorded.activities;
    const running = live.reduce((sum, b) => sum + clamp01(b.fraction ?? 0), 0);
    return { ...state, detail: { ...recorded, fraction: total > 0 ? clamp01((finished + running) / total) : 0 } };
  }
  return { ...state, detail: { ...recorded, ...live[0] } };
}

/** How far one step is, 0..1, from its detail. */
export function stepFraction(d: StepProgress | undefined): number {
  if (!d) return 0;
  if (d.fraction !== undefined) return clamp01(d.fraction);
  if (d.activities) return d.activities.total > 0 ? clamp01(d.activities.finished / d.activities.total) : 0;
  if (d.epoch && d.epochs) return epochFraction(d.epoch, d.epochs, d.batch ?? 0, d.batches ?? 0);
  if (d.done !== undefined && d.total) return clamp01(d.done / d.total);
  return 0;
}

/**
 * The run's fraction done, weighing each step by its expected work. Undefined when the run is not
 * in one of its steps ('starting', 'failed'): a caller keeps what it showed last.
 */
export function runFraction(p: RunProgress): number | undefined {
  if (p.step === 'done') return 1;
  const index = p.steps.indexOf(p.step);
  if (index < 0) return p.step === 'starting' ? 0 : undefined;
  const weights = p.steps.map((s) => Math.max(0, p.work?.[s] ?? 1));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return 0;
  const before = weights.slice(0, index).reduce((a, b) => a + b, 0);
  const detail = p.detail?.step === p.step ? p.detail : undefined;
  return clamp01((before + weights[index] * stepFraction(detail)) / total);
}

/**
 * Seconds left at the recent pace: the fraction gained over the last `windowMs` (at least
 * `minSpanMs` of samples), extrapolated to 1. Undefined until that pace is known.
 */
export class RemainingTime {
  private samples: { at: number; fraction: number }[] = [];

  constructor(
    private readonly windowMs = 120_000,
    private readonly minSpanMs = 10_000,
  ) {}

  update(fraction: number, at: number): number | undefined {
    this.samples.push({ at, fraction });
    while (this.samples.length > 2 && at - this.samples[1].at >= this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const span = at - first.at;
    const gained = fraction - first.fraction;
    if (span < this.minSpanMs || gained <= 0) return undefined;
    return ((1 - fraction) * span) / gained / 1000;
  }
}

/** 42s, 3m05s, 2h07m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
