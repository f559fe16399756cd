// A running run's live progress: the workflow's recorded state (the `progress` query) with the
// latest heartbeat of each pending activity folded in (from describe()). Neither adds anything
// to the run's history.
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { RunProgress, StepProgress } from '../lib/pipeline-types';
import { mergeLive, progressOfBeat } from '../lib/progress';
import { TL_STEP } from '../lib/search-attributes';
import { progressQuery } from '../workflows/definitions';

/** The progress the pending activities' heartbeats carry, as the server holds them. */
export function pendingProgress(description: WorkflowExecutionDescription): StepProgress[] {
  return (description.raw.pendingActivities ?? []).flatMap((a) => {
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (!payload) return [];
    try {
      const progress = progressOfBeat(defaultPayloadConverter.fromPayload(payload as Payload));
      return progress ? [progress] : [];
    } catch {
      return [];
    }
  });
}

/**
 * The run's live progress. When no worker answers the query (workflows not being served), the
 * TlStep search attribute and the heartbeats still say where it is.
 */
export async function liveProgress(handle: WorkflowHandle, description?: WorkflowExecutionDescription): Promise<RunProgress> {
  const [state, described] = await Promise.all([handle.query(progressQuery).catch(() => undefined), description ?? handle.describe()]);
  const recorded: RunProgress = state ?? { pipeline: described.type, step: described.typedSearchAttributes.get(TL_STEP) ?? 'starting', steps: [] };
  return mergeLive(recorded, pendingProgress(described));
}
