// A run's progress: what heartbeats carry and what the workflow records at step boundaries.
/**
 * A run's progress as the workflow records it (the `progress` query): the step, and the detail
 * recorded at step and epoch boundaries. Clients fold in the running activities' heartbeats
 * (lib/progress.ts) for the live numbers.
 */
export interface RunProgress {
  pipeline: string;
  /** 'starting', one of `steps`, 'done' or 'failed'. */
  step: string;
  steps: string[];
  /** Expected work of each step (training image passes, see lib/progress.ts): weighs the steps. */
  work?: Record<string, number>;
  detail?: StepProgress;
  testAccuracy?: number;
}

/** Where a step is: carried by every activity heartbeat, and recorded by the workflow at boundaries. */
export interface StepProgress {
  step: string;
  /** Share of the activity's expected work done, 0..1 (images × epochs when it trains). */
  fraction?: number;
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  loss?: number;
  accuracy?: number;
  valAccuracy?: number;
  imagesPerSecond?: number;
  /** Items done out of total within one activity (images predicted, shards written). */
  done?: number;
  total?: number;
  /** Fanned-out steps: how many of the step's parallel activities have finished. */
  activities?: { finished: number; total: number };
  message?: string;
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
