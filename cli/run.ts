// `tl run lab-cnn`: starts the trainLabCnn workflow, optionally following it to the end.
import { randomBytes } from 'node:crypto';
import type { Config } from '../lib/config';
import { LAB_CNN_DEFAULTS, type LabCnnOptions, type LabCnnRunResult } from '../lib/pipeline-types';
import { labLayerTable, formatLayerTable } from '../lib/models/lab-cnn';
import type { trainLabCnn } from '../workflows';
import { connectTemporal } from './connect';
import { followProgress } from './progress';

export interface RunLabCnnFlags {
  epochs?: number;
  batchSize?: number;
  limit?: number;
  seed?: number;
  learningRate?: number;
  source?: string;
  id?: string;
  wait?: boolean;
  json?: boolean;
}

export function newRunId(pipeline: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${pipeline}-${stamp}-${randomBytes(3).toString('hex')}`;
}

export async function runLabCnn(config: Config, flags: RunLabCnnFlags, out: (line: string) => void): Promise<LabCnnRunResult | string> {
  const options: LabCnnOptions = {
    ...LAB_CNN_DEFAULTS,
    ...(flags.epochs !== undefined && { epochs: flags.epochs }),
    ...(flags.batchSize !== undefined && { batchSize: flags.batchSize }),
    ...(flags.limit !== undefined && { limit: flags.limit }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    ...(flags.learningRate !== undefined && { learningRate: flags.learningRate }),
    ...(flags.source !== undefined && { source: flags.source }),
  };
  const client = await connectTemporal(config);
  await warnIfNoWorker(client, config, out);
  const workflowId = flags.id ?? newRunId('lab-cnn');
  const handle = await client.workflow.start<typeof trainLabCnn>('trainLabCnn', {
    taskQueue: config.taskQueues.cpu,
    workflowId,
    args: [{ options }],
  });
  if (!flags.json) {
    out(formatLayerTable(labLayerTable()));
    out(`started run ${workflowId} (Temporal UI: http://127.0.0.1:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/${workflowId})`);
  }
  if (!flags.wait) return workflowId;
  if (flags.json) await handle.result();
  else await followProgress(handle);
  const result = (await handle.result()) as LabCnnRunResult;
  if (!flags.json) {
    out(`test accuracy: ${(result.testAccuracy * 100).toFixed(2)}% (macro F1 ${result.macroF1.toFixed(4)})`);
    out(`report: s3://${config.s3.bucket}/${result.reportKeys.html} (fetch it with \`tl report ${workflowId} --out report.html\`)`);
  }
  return result;
}

async function warnIfNoWorker(client: Awaited<ReturnType<typeof connectTemporal>>, config: Config, out: (line: string) => void) {
  try {
    const res = await client.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: config.taskQueues.cpu },
      taskQueueType: 1, // workflow task queue
    });
    if (!res.pollers?.length) out(`note: no worker is polling task queue ${config.taskQueues.cpu} yet; start one with \`tl worker\``);
  } catch {
    /* advisory only */
  }
}
