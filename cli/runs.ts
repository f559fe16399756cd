// `tl runs list | show | cancel`: look at runs through the Temporal client.
import type { Client } from '@temporalio/client';
import { artifactKey } from '../lib/store/store';
import { runIdFor, progressLine } from '../contracts';
import { runsQuery, TL_BEST_ACCURACY, TL_PIPELINE, TL_SCHEDULE, TL_STEP, type RunFilters } from '../contracts/search-attributes';
import { runFraction } from '../lib/progress';
import { liveProgress } from './live-progress';
import { CliError, EXIT } from './errors';

export interface RunSummary {
  id: string;
  type: string;
  status: string;
  started?: string;
  closed?: string;
  pipeline?: string;
  step?: string;
  bestAccuracy?: number;
  schedule?: string;
}

export async function listRuns(client: Client, limit = 20, filters: RunFilters = {}): Promise<RunSummary[]> {
  let query: string;
  try {
    query = runsQuery(filters);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
  const runs: RunSummary[] = [];
  for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    const attributes = wf.typedSearchAttributes;
    runs.push({
      id: wf.workflowId,
      type: wf.type,
      status: wf.status.name,
      started: wf.startTime?.toISOString(),
      closed: wf.closeTime?.toISOString(),
      pipeline: attributes.get(TL_PIPELINE),
      step: attributes.get(TL_STEP),
      bestAccuracy: attributes.get(TL_BEST_ACCURACY),
      schedule: attributes.get(TL_SCHEDULE),
    });
    if (runs.length >= limit) break;
  }
  return runs;
}

export async function showRun(client: Client, id: string): Promise<Record<string, unknown>> {
  const handle = client.workflow.getHandle(validWorkflowId(id));
  const description = await handle.describe().catch((err) => {
    if ((err as Error).name === 'WorkflowNotFoundError') throw new CliError(`run ${id} does not exist`);
    throw err;
  });
  const shown: Record<string, unknown> = {
    id,
    type: description.type,
    status: description.status.name,
    started: description.startTime.toISOString(),
    closed: description.closeTime?.toISOString(),
    step: description.typedSearchAttributes.get(TL_STEP),
    bestAccuracy: description.typedSearchAttributes.get(TL_BEST_ACCURACY),
    schedule: description.typedSearchAttributes.get(TL_SCHEDULE),
    config: description.memo,
  };
  if (description.status.name === 'RUNNING') {
    const progress = await liveProgress(handle, description).catch(() => undefined);
    if (progress) {
      const fraction = runFraction(progress);
      shown.progress = { ...progress, line: progressLine(progress), ...(fraction === undefined ? {} : { percent: Math.floor(fraction * 100) }) };
    }
  }
  if (description.status.name === 'COMPLETED') shown.result = await handle.result();
  if (description.status.name === 'FAILED') shown.failure = await handle.result().catch((err) => String(err.cause?.message ?? err.message));
  return shown;
}

export async function cancelRun(client: Client, id: string): Promise<void> {
  await client.workflow
    .getHandle(validWorkflowId(id))
    .cancel()
    .catch((err) => {
      if ((err as Error).name === 'WorkflowNotFoundError') throw new CliError(`run ${id} does not exist`);
      throw err;
    });
}

/** A workflow id as given: a run id, or a scheduled run's id with its ':'. */
function validWorkflowId(id: string): string {
  validRunId(id);
  return id;
}

/** The run id in artifact keys for a run id or a scheduled run's workflow id (whose ':' keys leave out). */
export function validRunId(id: string): string {
  try {
    return artifactKey(runIdFor(id));
  } catch {
    throw new CliError(`run id ${JSON.stringify(id)} is invalid: expected letters, digits and . _ = + -`, EXIT.usage);
  }
}
