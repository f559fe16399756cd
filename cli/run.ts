// `tl run …`: starts a pipeline workflow and, with --wait, follows it to the end.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/config';
import { artifactKey } from '../lib/store/store';
import { z } from 'zod';
import { flag, RECORD_EVERY_SECONDS, type LabCnnOptions, type LabCnnRunResult, type PromotionDecision, type PromotionOptions, type TransferOptions, type TransferRunResult, type TrainLabCnnInput, type TransferLearningInput } from '../contracts';
import { DEFAULT_PROMOTE_MARGIN } from '../lib/store/promotion';
import { sanitizeModelName, validModelName } from '../lib/store/registry';
import { labLayerTable, formatLayerTable } from '../lib/models/lab-cnn';
import { isBackboneName } from '../lib/store/backbone-registry';
import { startSearchAttributes, type RunLabels } from '../contracts/search-attributes';
import { connectTemporal } from './connect';
import { followProgress } from './progress';
import { CliError, EXIT } from './errors';
import { checkBackboneSpec } from './backbones';
import { currentUser } from './system';

/**
 * What a run does besides its pipeline's options, the same for both pipelines: how often it
 * records epochs, and whether and how it competes for champion.
 */
export const RunOptionsSchema = z.object({
  recordEvery: flag(z.number().int().min(5).max(86_400).optional(), '--record-every <seconds>', `least seconds between the epoch records a run keeps in its history (default ${RECORD_EVERY_SECONDS})`),
  modelName: flag(z.string().optional(), '--model-name <name>', 'registry model name to compete for champion of'),
  promoteMargin: flag(z.number().min(0).max(1).default(DEFAULT_PROMOTE_MARGIN), '--promote-margin <x>', 'accuracy gain over the champion needed to replace it'),
  /** False only with --no-promote. */
  promote: flag(z.boolean().default(true), '--no-promote', 'skip the champion/challenger step'),
});
export type RunOptions = z.output<typeof RunOptionsSchema>;

/** Flags of `tl run` that are not options of the run itself. */
export interface StartFlags {
  id?: string;
  wait?: boolean;
  json?: boolean;
}

export const LAB_CNN_MODEL_NAME = 'lab-cnn-fashion-mnist';

/** A transfer run's default model name: its dataset folder's (or archive's) name. */
export function transferModelName(data: string): string {
  const base = data.replace(/\/+$/, '').split('/').pop() ?? '';
  return sanitizeModelName(base.replace(/\.(zip|tar\.gz|tgz|tar)$/i, ''), 'transfer');
}

/** What the workflow needs to compete for champion, or undefined with --no-promote. */
export function promotionRequest(run: RunOptions, defaultName: string): PromotionOptions | undefined {
  if (!run.promote) return undefined;
  const modelName = run.modelName ?? defaultName;
  try {
    validModelName(modelName);
  } catch (err) {
    throw new CliError(`--model-name: ${(err as Error).message}`, EXIT.usage);
  }
  return { modelName, margin: run.promoteMargin };
}

export function describePromotion(d: PromotionDecision): string {
  const pct = (x?: number) => (x === undefined ? 'n/a' : `${(x * 100).toFixed(2)}%`);
  const verdict = d.promoted ? `promoted to champion of ${d.modelName}` : `not promoted; ${d.modelName} keeps its champion`;
  return `${verdict}: ${d.reason} (challenger ${pct(d.challenger.accuracy)} on ${d.heldOut.split}, ${d.heldOut.count} images)`;
}

export function newRunId(pipeline: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${pipeline}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Drops undefined fields, so the memo shows only what is set. */
function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Everything needed to start one run of a pipeline, built once from its options and used
 * both by `tl run` and by `tl schedule create` (whose runs start with the same input).
 */
export interface PipelineStart {
  pipeline: 'lab-cnn' | 'transfer';
  workflowType: 'trainLabCnn' | 'transferLearning';
  args: [TrainLabCnnInput] | [TransferLearningInput];
  /** Search-attribute values (contracts/search-attributes.ts). */
  labels: RunLabels;
  /** The run's configuration in a few fields, shown by the Temporal UI and `tl runs show`. */
  memo: Record<string, unknown>;
  /** The Temporal UI's one-line summary of the run, and its details (Markdown): the same configuration. */
  summary: string;
  details: string;
}

/** The memo as the Temporal UI's static details: one Markdown list item per setting. */
function detailsOf(memo: Record<string, unknown>): string {
  const rows = Object.entries(memo).map(([k, v]) => `- **${k}**: ${String(v)}`);
  return [...rows, '', 'Live progress: the pending activity\'s heartbeat; the current details are recorded at step and epoch boundaries.'].join('\n');
}

async function startAndFollow<R>(
  config: Config,
  client: Client,
  spec: PipelineStart,
  flags: StartFlags,
  out: (line: string) => void,
): Promise<R | string> {
  await warnIfNoWorker(client, config, out);
  const workflowId = flags.id ?? newRunId(spec.pipeline);
  // The run id becomes part of every S3 key the run writes (runs/<id>/…).
  try {
    artifactKey(workflowId);
  } catch (err) {
    throw new CliError(`--id ${JSON.stringify(workflowId)} is invalid: ${(err as Error).message}`, EXIT.usage);
  }
  const handle: WorkflowHandle = await client.workflow
    .start(spec.workflowType, {
      taskQueue: config.taskQueues.cpu,
      workflowId,
      args: spec.args,
      typedSearchAttributes: startSearchAttributes(spec.labels),
      memo: spec.memo,
      staticSummary: spec.summary,
      staticDetails: spec.details,
      // A finished run's id names its artifacts (runs/<id>/…): a new run must not reuse it.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    })
    .catch((err: unknown) => {
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
  return awaitResult<R>(handle);
}

/**
 * The run's result. Waiting can outlast the Temporal server (a restart, a network blip):
 * a failure to reach it is retried for two minutes; the run's own failure is not.
 */
async function awaitResult<R>(handle: WorkflowHandle, patienceMs = 120_000): Promise<R> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      return (await handle.result()) as R;
    } catch (err) {
      if (!(err instanceof ServiceError) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

/** The run a lab-CNN run's options ask for; `requestedBy` names a schedule that starts it. */
export function labCnnStart(config: Config, options: LabCnnOptions, run: RunOptions, requestedBy?: string): PipelineStart {
  const dataset = options.source ?? config.fashionMnistDir;
  const promotion = promotionRequest(run, LAB_CNN_MODEL_NAME);
  const by = requestedBy ?? currentUser();
  const memo = defined({ pipeline: 'lab-cnn', data: dataset, epochs: options.epochs, batchSize: options.batchSize, limit: options.limit, seed: options.seed, learningRate: options.learningRate, requestedBy: by, modelName: promotion?.modelName });
  return {
    pipeline: 'lab-cnn',
    workflowType: 'trainLabCnn',
    args: [{ options, promotion, requestedBy: by, ...(run.recordEvery ? { recordEverySeconds: run.recordEvery } : {}) }],
    labels: { pipeline: 'lab-cnn', dataset },
    memo,
    summary: `lab CNN on Fashion-MNIST: ${options.epochs} epoch(s), ${options.limit ?? 'all'} training images, batch ${options.batchSize}`,
    details: detailsOf(memo),
  };
}

export async function runLabCnn(config: Config, spec: PipelineStart, flags: StartFlags, out: (line: string) => void): Promise<LabCnnRunResult | string> {
  const client = await connectTemporal(config);
  if (!flags.json) out(formatLayerTable(labLayerTable()));
  const result = await startAndFollow<LabCnnRunResult>(config, client, spec, flags, out);
  if (typeof result !== 'string' && !flags.json) {
    out(`test accuracy: ${(result.testAccuracy * 100).toFixed(2)}% (macro F1 ${result.macroF1.toFixed(4)})`);
    out(`report: s3://${config.s3.bucket}/${result.reportKeys.html} (fetch it with \`tl report ${result.runId} --out report.html\`)`);
    if (result.promotion) out(describePromotion(result.promotion));
  }
  return result;
}

/** Local paths become absolute: workers do not share the CLI's working directory. */
function location(spec: string): string {
  return /^(s3|https?):\/\//.test(spec) ? spec : path.resolve(spec);
}

/** The run a transfer run's options ask for; `requestedBy` names a schedule that starts it. */
export function transferStart(config: Config, given: TransferOptions, run: RunOptions, requestedBy?: string): PipelineStart {
  const options: TransferOptions = {
    ...given,
    data: location(given.data),
    backbone: isBackboneName(given.backbone) && !fs.existsSync(given.backbone) ? given.backbone : location(given.backbone),
  };
  const promotion = promotionRequest(run, transferModelName(options.data));
  const by = requestedBy ?? currentUser();
  const memo = defined({
    pipeline: 'transfer',
    data: options.data,
    backbone: options.backbone,
    cutLayer: options.cutLayer,
    method: options.method,
    stages: options.stages?.map((st) => `${st.name}: ${st.epochs} epoch(s)`).join(', '),
    batchSize: options.batchSize,
    seed: options.seed,
    requestedBy: by,
    modelName: promotion?.modelName,
  });
  return {
    pipeline: 'transfer',
    workflowType: 'transferLearning',
    args: [{ options, gpuTaskQueue: config.taskQueues.gpu, promotion, requestedBy: by, ...(run.recordEvery ? { recordEverySeconds: run.recordEvery } : {}) }],
    labels: { pipeline: 'transfer', dataset: options.data, backbone: options.backbone },
    memo,
    summary: `transfer learning (${options.method}) of ${path.basename(options.backbone)} on ${path.basename(options.data)}`,
    details: detailsOf(memo),
  };
}

export async function runTransfer(config: Config, spec: PipelineStart, backbone: string, flags: StartFlags, out: (line: string) => void): Promise<TransferRunResult | string> {
  await checkBackboneSpec(config, backbone);
  const client = await connectTemporal(config);
  const result = await startAndFollow<TransferRunResult>(config, client, spec, flags, out);
  if (typeof result !== 'string' && !flags.json) {
    for (const m of result.methods) {
      const tta = m.heldOutAccuracyTta === undefined ? '' : `, with TTA ${(m.heldOutAccuracyTta * 100).toFixed(2)}%`;
      out(`${m.method.padEnd(9)} held-out accuracy ${(m.heldOutAccuracy * 100).toFixed(2)}% (selection ${(m.selectionAccuracy * 100).toFixed(2)}%${tta})`);
    }
    out(`chosen: ${result.chosenMethod}, model s3://${config.s3.bucket}/${result.modelKey}`);
    out(`report: s3://${config.s3.bucket}/${result.reportKeys.html} (fetch it with \`tl report ${result.runId} --out report.html\`)`);
    if (result.promotion) out(describePromotion(result.promotion));
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
