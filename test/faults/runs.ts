// Small helpers for the fault tests that start lab-CNN runs on the suite's stack.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../../lib/config';
import { LAB_CNN_DEFAULTS, type LabCnnOptions } from '../../contracts';
import type { trainLabCnn } from '../../workflows';
export { waitForTraining } from '../integration/harness';

/** Small runs: a few thousand images, so each epoch takes seconds. */
export function labOptions(o: Partial<LabCnnOptions> = {}): LabCnnOptions {
  return { ...LAB_CNN_DEFAULTS, epochs: 3, limit: 3000, batchSize: 64, seed: 7, ...o };
}

export function startLab(client: Client, config: Config, workflowId: string, options: LabCnnOptions): Promise<WorkflowHandle<typeof trainLabCnn>> {
  return client.workflow.start<typeof trainLabCnn>('trainLabCnn', { taskQueue: config.taskQueues.cpu, workflowId, args: [{ options }] });
}

/** Highest attempt number of each activity type in a run's history (a retried activity shows > 1). */
export async function activityAttempts(handle: WorkflowHandle): Promise<Record<string, number>> {
  const history = await handle.fetchHistory();
  const typeById = new Map<string, string>();
  const attempts: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) typeById.set(String(e.eventId), sched.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeById.get(String(started.scheduledEventId)) ?? '?';
      attempts[type] = Math.max(attempts[type] ?? 0, started.attempt ?? 1);
    }
  }
  return attempts;
}
