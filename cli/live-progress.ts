// A running run's live progress: the workflow's recorded state (the `progress` query) with the
// latest heartbeat of each pending activity folded in (from describe()). Neither adds anything
// to the run's history.
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { RunProgress, StepProgress } from '../contracts';
import { mergeLive, progressOfBeat } from '../lib/progress';
import { TL_STEP } from '../contracts/search-attributes';
import { progressQuery } from '../contracts/signals';

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
 * The run's live progress, read once. When no worker answers the query (workflows not being
 * served), the TlStep search attribute and the heartbeats still say where it is.
 */
export async function liveProgress(handle: WorkflowHandle, description?: WorkflowExecutionDescription): Promise<RunProgress> {
  const [state, described] = await Promise.all([handle.query(progressQuery).catch(() => undefined), description ?? handle.describe()]);
  return mergeLive(state ?? fromSearchAttributes(described), pendingProgress(described));
}

/**
 * Reads a run's live progress again and again (a progress bar, a test waiting for an epoch).
 * The workflow's state only changes with a new history event, so it is queried again only when
 * the history grew (or every `requeryMs`); the heartbeats come from describe() on every read.
 * That keeps a follower from loading the workflow worker with a query a second.
 */
export class ProgressFollower {
  private recorded?: { historyLength: number; at: number; state: RunProgress };

  constructor(
    private readonly handle: WorkflowHandle,
    private readonly requeryMs = 30_000,
  ) {}

  async read(): Promise<RunProgress> {
    const described = await this.handle.describe();
    const last = this.recorded;
    if (!last || last.historyLength !== described.historyLength || Date.now() - last.at > this.requeryMs) {
      // Every workflow task ends in a WorkflowTaskCompleted event, which grows the history again:
      // a state read before that task finished is read anew after it.
      const state = await this.handle.query(progressQuery).catch(() => undefined);
      if (state) this.recorded = { historyLength: described.historyLength, at: Date.now(), state };
    }
    return mergeLive(this.recorded?.state ?? fromSearchAttributes(described), pendingProgress(described));
  }
}

function fromSearchAttributes(described: WorkflowExecutionDescription): RunProgress {
  return { pipeline: described.type, step: described.typedSearchAttributes.get(TL_STEP) ?? 'starting', steps: [] };
}
