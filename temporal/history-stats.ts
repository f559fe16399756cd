// What a run's workflow history holds, counted: events by type, and how long each workflow task
// took from WorkflowTaskScheduled to WorkflowTaskCompleted (queueing included). Reads the
// history the client's fetchHistory() returns; the long-run test, bench/history.ts and the scale benchmark use it.
import type { Client, WorkflowHandle } from '@temporalio/client';

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

/** Bytes of the largest payload anywhere in a history (inputs, results, heartbeats, memos, failures). */
export function largestPayloadBytes(history: History): number {
  let largest = 0;
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object' || ArrayBuffer.isView(value)) return;
    const record = value as Record<string, unknown>;
    // A Payload is { metadata, data }; its size as the server counts it is about its data's.
    if (record.data instanceof Uint8Array && 'metadata' in record) {
      largest = Math.max(largest, record.data.byteLength);
      return;
    }
    for (const child of Object.values(record)) visit(child);
  };
  for (const e of history.events ?? []) visit(e);
  return largest;
}

export interface ExecutionStats {
  workflowId: string;
  events: number;
  largestPayloadBytes: number;
}

/** A run and every child workflow it started (recursively), each execution's size counted. */
export async function runExecutions(client: Client, workflowId: string): Promise<ExecutionStats[]> {
  const out: ExecutionStats[] = [];
  const pending = [workflowId];
  while (pending.length) {
    const id = pending.shift()!;
    const history = await client.workflow.getHandle(id).fetchHistory();
    out.push({ workflowId: id, events: history.events?.length ?? 0, largestPayloadBytes: largestPayloadBytes(history) });
    for (const e of history.events ?? []) {
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child) pending.push(child);
    }
  }
  return out;
}
