// How an activity reports progress. Live numbers ride on its heartbeats (the server keeps only
// the latest, nothing reaches history); a few boundary records reach the workflow as a signal,
// at most one per interval, so the workflow's own state and the Web UI line move at epoch
// boundaries without the run's history growing with its training time (lib/progress.ts).
import { Context } from '@temporalio/activity';
import { recordProgressSignal } from '../contracts/signals';
import { type StepProgress, RECORD_EVERY_SECONDS } from '../contracts';
import type { z } from 'zod';
import { type ProgressBeat } from '../lib/progress';

/** Heartbeats the activity's progress, with any fields of its own (a checkpoint to resume from). */
export function heartbeatProgress<T extends object>(progress: StepProgress, extra?: T): void {
  Context.current().heartbeat({ ...extra, progress } satisfies ProgressBeat);
}

/**
 * Sends boundary records to the workflow, at most one per `everySeconds` (the first one
 * `everySeconds` after the activity starts); `force` is for the few boundaries a run has
 * regardless of its length (a fine-tuning stage's end).
 */
export function boundaryRecorder(everySeconds = RECORD_EVERY_SECONDS): (progress: StepProgress, force?: boolean) => void {
  let last = Date.now();
  return (progress, force = false) => {
    const now = Date.now();
    if (!force && now - last < everySeconds * 1000) return;
    last = now;
    const ctx = Context.current();
    const workflowId = ctx.info.workflowExecution?.workflowId;
    if (!workflowId) return;
    ctx.client.workflow
      .getHandle(workflowId)
      .signal(recordProgressSignal, progress)
      .catch(() => {
        /* a record is advisory: the heartbeats carry the same numbers */
      });
  };
}

/**
 * The checkpoint a previous attempt named in its last heartbeat, checked against its schema. A
 * malformed one (written by another version, say) is logged and ignored: the step starts afresh.
 */
export function resumeCheckpoint<T>(schema: z.ZodType<{ checkpoint: T | null }>, step: string): T | null {
  const ctx = Context.current();
  const details: unknown = ctx.info.heartbeatDetails;
  if (details === undefined || details === null) return null;
  const parsed = schema.safeParse(details);
  if (parsed.success) return parsed.data.checkpoint;
  ctx.log.warn(`ignoring a malformed checkpoint in the last heartbeat: ${step} starts afresh`, { problem: parsed.error.issues[0]?.message });
  return null;
}
