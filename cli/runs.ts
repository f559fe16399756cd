// `tl runs list | show | cancel`: look at runs through the Temporal client.
import type { Client } from '@temporalio/client';
import { artifactKey } from '../lib/store';
import { progressQuery } from '../workflows/definitions';
import { CliError, EXIT } from './errors';

export interface RunSummary {
  id: string;
  type: string;
  status: string;
  started?: string;
  closed?: string;
}

export async function listRuns(client: Client, limit = 20): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  for await (const wf of client.workflow.list({ query: "WorkflowType IN ('trainLabCnn', 'transferLearning')" })) {
    runs.push({
      id: wf.workflowId,
      type: wf.type,
      status: wf.status.name,
      started: wf.startTime?.toISOString(),
      closed: wf.closeTime?.toISOString(),
    });
    if (runs.length >= limit) break;
  }
  return runs;
}

export async function showRun(client: Client, id: string): Promise<Record<string, unknown>> {
  const handle = client.workflow.getHandle(validRunId(id));
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
  };
  if (description.status.name === 'RUNNING') shown.progress = await handle.query(progressQuery).catch(() => undefined);
  if (description.status.name === 'COMPLETED') shown.result = await handle.result();
  if (description.status.name === 'FAILED') shown.failure = await handle.result().catch((err) => String(err.cause?.message ?? err.message));
  return shown;
}

export async function cancelRun(client: Client, id: string): Promise<void> {
  await client.workflow.getHandle(validRunId(id)).cancel();
}

export function validRunId(id: string): string {
  try {
    return artifactKey(id);
  } catch {
    throw new CliError(`run id ${JSON.stringify(id)} is invalid: expected letters, digits and . _ = + -`, EXIT.usage);
  }
}
