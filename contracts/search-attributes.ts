// The search attributes and memo every run carries, so runs can be found by pipeline, data,
// backbone, step, accuracy or schedule in `tl runs list` and in the Temporal Web UI.
// Shared by the CLI (set at start), the workflows (upserted as steps advance) and `tl stack up`
// (registered on the server). Keyword values are exact-match; Double can be compared.
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

export const TL_PIPELINE = defineSearchAttributeKey('TlPipeline', SearchAttributeType.KEYWORD);
export const TL_DATASET = defineSearchAttributeKey('TlDataset', SearchAttributeType.KEYWORD);
export const TL_BACKBONE = defineSearchAttributeKey('TlBackbone', SearchAttributeType.KEYWORD);
/** 'starting', the current step, then 'done' or 'failed'. */
export const TL_STEP = defineSearchAttributeKey('TlStep', SearchAttributeType.KEYWORD);
/** Test (lab CNN) or held-out (transfer) accuracy of the run's model, 0..1, set when the run ends. */
export const TL_BEST_ACCURACY = defineSearchAttributeKey('TlBestAccuracy', SearchAttributeType.DOUBLE);
/** The schedule that started the run; absent for runs started by hand. */
export const TL_SCHEDULE = defineSearchAttributeKey('TlSchedule', SearchAttributeType.KEYWORD);

export const TL_SEARCH_ATTRIBUTES = [TL_PIPELINE, TL_DATASET, TL_BACKBONE, TL_STEP, TL_BEST_ACCURACY, TL_SCHEDULE] as const;

/** What identifies a run for people looking for it; the values of the search attributes set at start. */
export interface RunLabels {
  pipeline: string;
  dataset: string;
  backbone?: string;
  schedule?: string;
}

export function startSearchAttributes(labels: RunLabels): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [
    { key: TL_PIPELINE, value: labels.pipeline },
    { key: TL_DATASET, value: labels.dataset },
    { key: TL_STEP, value: 'starting' },
  ];
  if (labels.backbone !== undefined) pairs.push({ key: TL_BACKBONE, value: labels.backbone });
  if (labels.schedule !== undefined) pairs.push({ key: TL_SCHEDULE, value: labels.schedule });
  return pairs;
}

/** `tl runs list --status` values and the ExecutionStatus names the visibility store uses. */
export const RUN_STATUSES = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
  'continued-as-new': 'ContinuedAsNew',
} as const;
export type RunStatus = keyof typeof RUN_STATUSES;

export const PIPELINE_WORKFLOW_TYPES = ['trainLabCnn', 'transferLearning'] as const;

export interface RunFilters {
  status?: RunStatus;
  pipeline?: string;
  schedule?: string;
}

/** Values go inside double quotes in a visibility query, so they are limited to characters that need no escaping. */
const QUERY_VALUE = /^[A-Za-z0-9._:/=+@-]{1,200}$/;

/** A visibility query for the runs that match every given filter. */
export function runsQuery(filters: RunFilters): string {
  const clauses = [`WorkflowType IN (${PIPELINE_WORKFLOW_TYPES.map((t) => `"${t}"`).join(', ')})`];
  if (filters.status !== undefined) {
    const status = RUN_STATUSES[filters.status];
    if (!status) throw new RangeError(`status ${JSON.stringify(filters.status)} is invalid: expected one of ${Object.keys(RUN_STATUSES).join(', ')}`);
    clauses.push(`ExecutionStatus = "${status}"`);
  }
  for (const [key, value] of [
    [TL_PIPELINE, filters.pipeline],
    [TL_SCHEDULE, filters.schedule],
  ] as const) {
    if (value === undefined) continue;
    if (!QUERY_VALUE.test(value)) throw new RangeError(`${key.name} filter ${JSON.stringify(value)} is invalid: expected letters, digits and . _ : / = + @ -`);
    clauses.push(`${key.name} = "${value}"`);
  }
  return clauses.join(' AND ');
}
