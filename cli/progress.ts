// `tl run --wait`'s progress bar: the run's live progress (cli/live-progress.ts) as a fraction of
// its expected work that never goes back, the current step's numbers, and the time left.
import { SingleBar, Presets } from 'cli-progress';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { type RunProgress, progressLine } from '../contracts';
import { formatDuration, RemainingTime, runFraction } from '../lib/progress';
import { ProgressFollower } from './live-progress';

/** Turns successive progress reports into what the bar shows: monotonic, with an ETA. */
export class ProgressView {
  private shown = 0;
  private readonly remaining = new RemainingTime();

  update(p: RunProgress, now = Date.now()): { fraction: number; text: string } {
    const fraction = runFraction(p);
    // Estimates get revised (early stopping, a retried attempt): the bar waits rather than going back.
    if (fraction !== undefined) this.shown = Math.max(this.shown, fraction);
    let text = progressLine(p);
    if (p.step !== 'done' && p.step !== 'failed') {
      const eta = this.remaining.update(this.shown, now);
      if (eta !== undefined) text += ` | ETA ${formatDuration(eta)}`;
    }
    return { fraction: this.shown, text };
  }

  get fraction(): number {
    return this.shown;
  }
}

/**
 * Follows the run until its result is in (or waiting for it fails): 100% only when it succeeded.
 * The caller reads the result itself (cli/run.ts awaitResult, which rides out server restarts).
 */
export async function followProgress(handle: WorkflowHandle, intervalMs = 1000): Promise<void> {
  const bar = new SingleBar(
    { format: '{bar} {percentage}% | {text}', hideCursor: true, stream: process.stdout, noTTYOutput: true, notTTYSchedule: 10_000 },
    Presets.shades_classic,
  );
  const view = new ProgressView();
  const follower = new ProgressFollower(handle);
  bar.start(100, 0, { text: 'starting' });
  let closed = false;
  const outcome: Promise<'done' | 'failed' | 'lost'> = handle.result().then(
    () => 'done',
    (err) => (err instanceof WorkflowFailedError ? 'failed' : 'lost'),
  );
  void outcome.finally(() => (closed = true));
  try {
    while (!closed) {
      try {
        const { fraction, text } = view.update(await follower.read());
        bar.update(Math.floor(fraction * 100), { text });
      } catch {
        /* the server may be briefly away; the next poll tries again */
      }
      await Promise.race([outcome, new Promise((r) => setTimeout(r, intervalMs))]);
    }
    const end = await outcome;
    if (end === 'done') bar.update(100, { text: 'done' });
    else bar.update(Math.floor(view.fraction * 100), { text: end === 'failed' ? 'failed' : 'lost contact with Temporal; waiting for the result' });
  } finally {
    bar.stop();
  }
}
