// Best-effort, throttled progress from inside an activity to its workflow, so the
// workflow's `progress` query can show live numbers without polling activity state.
import { Context } from '@temporalio/activity';
import { stepProgressSignal } from '../workflows/definitions';
import type { StepProgress } from '../lib/pipeline-types';

export function progressReporter(minIntervalMs = 2000): (progress: StepProgress, force?: boolean) => void {
  let last = 0;
  return (progress, force = false) => {
    const now = Date.now();
    if (!force && now - last < minIntervalMs) return;
    last = now;
    const ctx = Context.current();
    const workflowId = ctx.info.workflowExecution?.workflowId;
    if (!workflowId) return;
    ctx.client.workflow
      .getHandle(workflowId)
      .signal(stepProgressSignal, progress)
      .catch(() => {
        /* progress is advisory: a lost update is harmless */
      });
  };
}
