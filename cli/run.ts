// `tl run …`: starts a pipeline workflow and, with --wait, follows it to the end.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/config';
import { artifactKey } from '../lib/store';
import { LAB_CNN_DEFAULTS, TRANSFER_DEFAULTS, type LabCnnOptions, type LabCnnRunResult, type TransferMethod, type TransferOptions } from '../lib/pipeline-types';
import type { TransferRunResult } from '../lib/transfer-types';
import { labLayerTable, formatLayerTable } from '../lib/models/lab-cnn';
import { parseStages } from '../lib/models/fine-tune';
import type { trainLabCnn, transferLearning } from '../workflows';
import { connectTemporal } from './connect';
import { followProgress } from './progress';
import { CliError, EXIT } from './errors';

export interface CommonRunFlags {
  seed?: number;
  batchSize?: number;
  id?: string;
  wait?: boolean;
  json?: boolean;
}

export function newRunId(pipeline: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${pipeline}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Drops undefined flags so they do not override defaults. */
function defined<T extends object>(flags: T): Partial<T> {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function startAndFollow<R>(
  config: Config,
  client: Client,
  start: (workflowId: string) => Promise<WorkflowHandle>,
  flags: CommonRunFlags,
  pipeline: string,
  out: (line: string) => void,
): Promise<R | string> {
  await warnIfNoWorker(client, config, out);
  const workflowId = flags.id ?? newRunId(pipeline);
  // The run id becomes part of every S3 key the run writes (runs/<id>/…).
  try {
    artifactKey(workflowId);
  } catch (err) {
    throw new CliError(`--id ${JSON.stringify(workflowId)} is invalid: ${(err as Error).message}`, EXIT.usage);
  }
  const handle = await start(workflowId).catch((err: unknown) => {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(`run ${workflowId} already exists: pick another --id, or follow it with \`tl runs show ${workflowId}\``, EXIT.usage);
    }
    throw err;
  });
  if (!flags.json) {
    out(`started run ${workflowId} (Temporal UI: http://127.0.0.1:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/${workflowId})`);
  }
  if (!flags.wait) return workflowId;
  if (!flags.json) await followProgress(handle);
  return (await handle.result()) as R;
}

export interface RunLabCnnFlags extends CommonRunFlags {
  epochs?: number;
  limit?: number;
  learningRate?: number;
  lrDecay?: number;
  augment?: boolean;
  validationFraction?: number;
  source?: string;
}

export async function runLabCnn(config: Config, flags: RunLabCnnFlags, out: (line: string) => void): Promise<LabCnnRunResult | string> {
  const { epochs, batchSize, limit, seed, learningRate, lrDecay: learningRateDecay, augment, validationFraction, source } = flags;
  const options: LabCnnOptions = {
    ...LAB_CNN_DEFAULTS,
    ...defined({ epochs, batchSize, limit, seed, learningRate, learningRateDecay, augment, validationFraction, source }),
  };
  const client = await connectTemporal(config);
  if (!flags.json) out(formatLayerTable(labLayerTable()));
  const result = await startAndFollow<LabCnnRunResult>(
    config,
    client,
    (workflowId) => client.workflow.start<typeof trainLabCnn>('trainLabCnn', { taskQueue: config.taskQueues.cpu, workflowId, args: [{ options }] }),
    flags,
    'lab-cnn',
    out,
  );
  if (typeof result !== 'string' && !flags.json) {
    out(`test accuracy: ${(result.testAccuracy * 100).toFixed(2)}% (macro F1 ${result.macroF1.toFixed(4)})`);
    out(`report: s3://${config.s3.bucket}/${result.reportKeys.html} (fetch it with \`tl report ${result.runId} --out report.html\`)`);
  }
  return result;
}

export interface RunTransferFlags extends CommonRunFlags {
  data: string;
  backbone: string;
  cutLayer?: string;
  method?: TransferMethod;
  stages?: string;
  resize?: TransferOptions['resize'];
  augment?: boolean;
  patience?: number;
  validationFraction?: number;
}

/** Local paths become absolute: workers do not share the CLI's working directory. */
function location(spec: string): string {
  return /^(s3|https?):\/\//.test(spec) ? spec : path.resolve(spec);
}

function readStages(spec: string | undefined): TransferOptions['stages'] {
  if (spec === undefined) return undefined;
  const json = spec.trim().startsWith('[') ? spec : readFileOrFail(spec);
  try {
    return parseStages(json);
  } catch (err) {
    throw new CliError(`--stages: ${(err as Error).message}`, EXIT.usage);
  }
}

function readFileOrFail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`--stages ${JSON.stringify(file)} is neither a JSON array nor a readable file`, EXIT.usage);
  }
}

export async function runTransfer(config: Config, flags: RunTransferFlags, out: (line: string) => void): Promise<TransferRunResult | string> {
  const { seed, batchSize, cutLayer, method, resize, augment, patience, validationFraction } = flags;
  const options: TransferOptions = {
    ...TRANSFER_DEFAULTS,
    ...defined({ seed, batchSize, cutLayer, method, resize, augment, patience, validationFraction }),
    data: location(flags.data),
    backbone: location(flags.backbone),
    stages: readStages(flags.stages),
  };
  const client = await connectTemporal(config);
  const result = await startAndFollow<TransferRunResult>(
    config,
    client,
    (workflowId) =>
      client.workflow.start<typeof transferLearning>('transferLearning', {
        taskQueue: config.taskQueues.cpu,
        workflowId,
        args: [{ options, gpuTaskQueue: config.taskQueues.gpu }],
      }),
    flags,
    'transfer',
    out,
  );
  if (typeof result !== 'string' && !flags.json) {
    for (const m of result.methods) {
      out(`${m.method.padEnd(9)} held-out accuracy ${(m.heldOutAccuracy * 100).toFixed(2)}% (selection ${(m.selectionAccuracy * 100).toFixed(2)}%)`);
    }
    out(`chosen: ${result.chosenMethod}, model s3://${config.s3.bucket}/${result.modelKey}`);
    out(`report: s3://${config.s3.bucket}/${result.reportKeys.html} (fetch it with \`tl report ${result.runId} --out report.html\`)`);
  }
  return result;
}

async function warnIfNoWorker(client: Client, config: Config, out: (line: string) => void) {
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
