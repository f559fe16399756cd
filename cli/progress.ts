// A live progress bar fed by a workflow's `progress` query.
import { SingleBar, Presets } from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery } from '../workflows/definitions';
import type { RunProgress } from '../lib/pipeline-types';

export function describeProgress(p: RunProgress): { fraction: number; text: string } {
  const d = p.detail;
  const stepIndex = Math.max(0, p.steps.indexOf(p.step));
  let within = 0;
  let text = p.step;
  if (d?.epoch && d.epochs && d.batch && d.batches) {
    within = (d.epoch - 1 + d.batch / d.batches) / d.epochs;
    if (d.message) text += ` ${d.message}`;
    text += ` epoch ${d.epoch}/${d.epochs} batch ${d.batch}/${d.batches}`;
    if (d.loss !== undefined) text += ` loss ${d.loss.toFixed(4)}`;
    if (d.accuracy !== undefined) text += ` acc ${(d.accuracy * 100).toFixed(1)}%`;
    if (d.valAccuracy !== undefined) text += ` val ${(d.valAccuracy * 100).toFixed(1)}%`;
    if (d.imagesPerSecond) text += ` ${Math.round(d.imagesPerSecond)} img/s`;
  } else if (d?.done !== undefined && d.total) {
    within = Math.min(1, d.done / d.total);
    text += ` ${d.message ?? ''} ${d.done}/${d.total}`.replace(/ {2,}/g, ' ');
  } else if (d?.message) {
    text += ` ${d.message}`;
  }
  const fraction = p.step === 'done' ? 1 : (stepIndex + within) / p.steps.length;
  return { fraction, text };
}

/** Polls the query until the workflow closes; resolves when the workflow's result is in. */
export async function followProgress(handle: WorkflowHandle, intervalMs = 1000): Promise<void> {
  const bar = new SingleBar(
    { format: '{bar} {percentage}% | {text}', hideCursor: true, stream: process.stdout, noTTYOutput: true, notTTYSchedule: 10_000 },
    Presets.shades_classic,
  );
  bar.start(100, 0, { text: 'starting' });
  let closed = false;
  const done = handle.result().finally(() => (closed = true));
  try {
    while (!closed) {
      try {
        const p = await handle.query(progressQuery);
        const { fraction, text } = describeProgress(p);
        bar.update(Math.round(fraction * 100), { text });
      } catch {
        /* the workflow may not have run its first task yet */
      }
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
    }
    bar.update(100, { text: 'done' });
  } finally {
    bar.stop();
  }
  await done;
}
