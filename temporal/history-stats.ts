// What a run's workflow history holds, counted: events by type, and how long each workflow task
// took from WorkflowTaskScheduled to WorkflowTaskCompleted (queueing included). Reads the
// history the client's fetchHistory() returns; the long-run test and bench/history.ts use it.
import type { WorkflowHandle } from '@temporalio/client';

/** A workflow's history as the client returns it (temporal.api.history.v1.IHistory). */
type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

type HistoryEvent = NonNullable<History['events']>[number];

export interface HistoryStats {
  events: number;
  /** Event counts by type, e.g. { workflowTaskScheduled: 6, activityTaskStarted: 3 }. */
  byType: Record<string, number>;
  /** Seconds from each workflow task's scheduling to its completion, in history order. */
  workflowTaskSeconds: number[];
  /** Seconds from the first event to the last. */
  wallSeconds: number;
}

/** An event's type as its attributes field names it, without "EventAttributes". */
export function eventType(e: HistoryEvent): string {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]);
  return key ? key.replace(/EventAttributes$/, '') : 'unknown';
}

function seconds(e: HistoryEvent): number {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) + (t.nanos ?? 0) / 1e9 : NaN;
}

export function historyStats(history: History): HistoryStats {
  const events = history.events ?? [];
  const byType: Record<string, number> = {};
  const scheduledAt = new Map<string, number>();
  const workflowTaskSeconds: number[] = [];
  for (const e of events) {
    const type = eventType(e);
    byType[type] = (byType[type] ?? 0) + 1;
    if (e.workflowTaskScheduledEventAttributes) scheduledAt.set(String(e.eventId), seconds(e));
    const completed = e.workflowTaskCompletedEventAttributes;
    if (completed) {
      const start = scheduledAt.get(String(completed.scheduledEventId));
      if (start !== undefined) workflowTaskSeconds.push(seconds(e) - start);
    }
  }
  const wallSeconds = events.length ? seconds(events[events.length - 1]) - seconds(events[0]) : 0;
  return { events: events.length, byType, workflowTaskSeconds, wallSeconds };
}
