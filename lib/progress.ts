// A run's progress as people see it: one line of text and one fraction of the run's expected
// work. Pure code shared by the workflows (their Web UI details), the activities (what their
// heartbeats carry) and the CLI (the progress bar, `tl runs show`).
//
// Where the numbers come from: every activity heartbeat carries a StepProgress; the server keeps
// only the latest, so a beat costs nothing in history. The workflow records state only at step
// boundaries and, at most once per RECORD_EVERY_SECONDS, at an epoch boundary (one signal: four
// history events). Clients merge both (mergeLive).
import type { LabCnnOptions, RunProgress, StepProgress, TransferOptions } from './pipeline-types';

/**
 * Least seconds between two epoch records an activity sends its workflow. A record costs four
 * history events (a signal and a workflow task), so this keeps training at 48 events an hour
 * however long it runs, under Temporal's 10,240-event warning for more than eight days.
 */
export const RECORD_EVERY_SECONDS = 300;

/** What every tl activity heartbeat holds; activities add their own fields (a checkpoint). */
export interface ProgressBeat {
  progress: StepProgress;
}

/** The StepProgress inside heartbeat details, if they hold one. */
export function progressOfBeat(details: unknown): StepProgress | undefined {
  const progress = (details as Partial<ProgressBeat> | null | undefined)?.progress;
  return progress && typeof progress === 'object' && typeof progress.step === 'string' ? progress : undefined;
}

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

/** One line for a run: step, then what its detail says (the CLI's bar and the Web UI show it). */
export function progressLine(p: RunProgress): string {
  const d = p.detail?.step === p.step ? p.detail : undefined;
  const parts = [p.step];
  if (!d) return p.step;
  if (d.message) parts.push(d.message);
  if (d.activities) parts.push(`${d.activities.finished}/${d.activities.total}`);
  if (d.epoch && d.epochs) {
    parts.push(`epoch ${d.epoch}/${d.epochs}`);
    if (d.batch && d.batches) parts.push(`batch ${d.batch}/${d.batches}`);
    if (d.loss !== undefined) parts.push(`loss ${d.loss.toFixed(4)}`);
    if (d.accuracy !== undefined) parts.push(`acc ${(d.accuracy * 100).toFixed(1)}%`);
    if (d.valAccuracy !== undefined) parts.push(`val ${(d.valAccuracy * 100).toFixed(1)}%`);
    if (d.imagesPerSecond) parts.push(`${Math.round(d.imagesPerSecond)} img/s`);
  } else if (d.done !== undefined && d.total && !d.activities) {
    parts.push(`${d.done}/${d.total}`);
  }
  return parts.join(' ');
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

// Expected work, in training image passes (one image forward and backward); a forward pass alone
// counts a third, ingesting an image a twentieth. Only the ratios between steps matter.
const FORWARD = 1 / 3;
const INGEST = 1 / 20;
const FASHION_MNIST = { train: 60_000, test: 10_000 };

/** Step weights of a lab-CNN run. */
export function labCnnWork(o: LabCnnOptions, promote: boolean): Record<string, number> {
  const images = o.limit ?? FASHION_MNIST.train;
  const perEpoch = images * (1 - o.validationFraction) + images * o.validationFraction * FORWARD;
  return {
    ingest: (FASHION_MNIST.train + FASHION_MNIST.test) * INGEST,
    train: perEpoch * o.epochs,
    evaluate: FASHION_MNIST.test * FORWARD,
    ...(promote ? { promote: 2 * FASHION_MNIST.test * FORWARD } : {}),
  };
}

/** Fine-tuning epochs when no stages are given (lib/models/fine-tune.ts DEFAULT_STAGES: 5 + 5). */
const DEFAULT_FINE_TUNE_EPOCHS = 10;

/** Step weights of a transfer run, per image of the dataset (its size is not known up front). */
export function transferWork(o: TransferOptions, promote: boolean): Record<string, number> {
  const epochs = o.stages ? o.stages.reduce((sum, s) => sum + s.epochs, 0) : DEFAULT_FINE_TUNE_EPOCHS;
  const methods = o.method === 'both' ? 2 : 1;
  const heldOut = 0.2;
  return {
    backbone: 0.01,
    ingest: 4 * INGEST,
    extract: FORWARD,
    features: o.method === 'finetune' ? 0 : 0.05,
    finetune: o.method === 'features' ? 0 : epochs * (1 - o.validationFraction),
    evaluate: methods * heldOut * FORWARD,
    ...(promote ? { promote: 2 * heldOut * FORWARD } : {}),
  };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
