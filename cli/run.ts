// `tl run …`: starts a pipeline workflow and, with --wait, follows it to the end.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/config';
import { artifactKey } from '../lib/store/store';
import { LAB_CNN_DEFAULTS, TRANSFER_DEFAULTS, type LabCnnOptions, type LabCnnRunResult, type PromotionDecision, type PromotionOptions, type TransferMethod, type TransferOptions, type TransferRunResult } from '../contracts';
import { DEFAULT_PROMOTE_MARGIN } from '../lib/store/promotion';
import { sanitizeModelName, validModelName } from '../lib/store/registry';
import { labLayerTable, formatLayerTable } from '../lib/models/lab-cnn';
import { parseStages } from '../lib/models/fine-tune';
import { isBackboneName } from '../lib/store/backbone-registry';
import type { TrainLabCnnInput } from '../workflows/train-lab-cnn';
import type { TransferLearningInput } from '../workflows/transfer-learning';
import { startSearchAttributes, type RunLabels } from '../contracts/search-attributes';
import { connectTemporal } from './connect';
import { followProgress } from './progress';
import { CliError, EXIT } from './errors';
import { checkBackboneSpec } from './backbones';

export interface CommonRunFlags {
  seed?: number;
  batchSize?: number;
  id?: string;
  wait?: boolean;
  json?: boolean;
  /** --record-every: least seconds between epoch records in the run's history. */
  recordEvery?: number;
  /** --model-name, --promote-margin, --no-promote (promote is false only with --no-promote). */
  modelName?: string;
  promoteMargin?: number;
  promote?: boolean;
}

export const LAB_CNN_MODEL_NAME = 'lab-cnn-fashion-mnist';

/** A transfer run's default model name: its dataset folder's (or archive's) name. */
export function transferModelName(data: string): string {
  const base = data.replace(/\/+$/, '').split('/').pop() ?? '';
  return sanitizeModelName(base.replace(/\.(zip|tar\.gz|tgz|tar)$/i, ''), 'transfer');
}

/** What the workflow needs to compete for champion, or undefined with --no-promote. */
export function promotionRequest(flags: CommonRunFlags, defaultName: string): PromotionOptions | undefined {
  if (flags.promote === false) return undefined;
  const modelName = flags.modelName ?? defaultName;
  try {
    validModelName(modelName);
  } catch (err) {
    throw new CliError(`--model-name: ${(err as Error).message}`, EXIT.usage);
  }
  return { modelName, margin: flags.promoteMargin ?? DEFAULT_PROMOTE_MARGIN };
}

/** Who is asking, recorded in the registry with a promotion. */
export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
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

/** Drops undefined flags so they do not override defaults. */
function defined<T extends object>(flags: T): Partial<T> {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Everything needed to start one run of a pipeline, built once from the `tl run` flags and used
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
  flags: CommonRunFlags,
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

export interface RunLabCnnFlags extends CommonRunFlags {
  epochs?: number;
  limit?: number;
  learningRate?: number;
  lrDecay?: number;
  augment?: boolean;
  validationFraction?: number;
  source?: string;
}

/** The run a set of `tl run lab-cnn` flags asks for; `requestedBy` names a schedule that starts it. */
export function labCnnStart(config: Config, flags: RunLabCnnFlags, requestedBy?: string): PipelineStart {
  const { epochs, batchSize, limit, seed, learningRate, lrDecay: learningRateDecay, augment, validationFraction, source } = flags;
  const options: LabCnnOptions = {
    ...LAB_CNN_DEFAULTS,
    ...defined({ epochs, batchSize, limit, seed, learningRate, learningRateDecay, augment, validationFraction, source }),
  };
  const dataset = options.source ?? config.fashionMnistDir;
  const promotion = promotionRequest(flags, LAB_CNN_MODEL_NAME);
  const by = requestedBy ?? currentUser();
  const memo = defined({ pipeline: 'lab-cnn', data: dataset, epochs: options.epochs, batchSize: options.batchSize, limit: options.limit, seed: options.seed, learningRate: options.learningRate, requestedBy: by, modelName: promotion?.modelName });
  return {
    pipeline: 'lab-cnn',
    workflowType: 'trainLabCnn',
    args: [{ options, promotion, requestedBy: by, ...(flags.recordEvery ? { recordEverySeconds: flags.recordEvery } : {}) }],
    labels: { pipeline: 'lab-cnn', dataset },
    memo,
    summary: `lab CNN on Fashion-MNIST: ${options.epochs} epoch(s), ${options.limit ?? 'all'} training images, batch ${options.batchSize}`,
    details: detailsOf(memo),
  };
}

export async function runLabCnn(config: Config, flags: RunLabCnnFlags, out: (line: string) => void): Promise<LabCnnRunResult | string> {
  const spec = labCnnStart(config, flags);
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
  tta?: boolean;
  lrSchedule?: TransferOptions['lrSchedule'];
  labelSmoothing?: number;
  layerDecay?: number;
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

/** The run a set of `tl run transfer` flags asks for; `requestedBy` names a schedule that starts it. */
export function transferStart(config: Config, flags: RunTransferFlags, requestedBy?: string): PipelineStart {
  const { seed, batchSize, cutLayer, method, resize, augment, patience, validationFraction, tta, lrSchedule, labelSmoothing, layerDecay } = flags;
  const options: TransferOptions = {
    ...TRANSFER_DEFAULTS,
    ...defined({ seed, batchSize, cutLayer, method, resize, augment, patience, validationFraction, tta, lrSchedule, labelSmoothing, layerDecay }),
    data: location(flags.data),
    backbone: isBackboneName(flags.backbone) && !fs.existsSync(flags.backbone) ? flags.backbone : location(flags.backbone),
    stages: readStages(flags.stages),
  };
  const promotion = promotionRequest(flags, transferModelName(options.data));
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
    args: [{ options, gpuTaskQueue: config.taskQueues.gpu, promotion, requestedBy: by, ...(flags.recordEvery ? { recordEverySeconds: flags.recordEvery } : {}) }],
    labels: { pipeline: 'transfer', dataset: options.data, backbone: options.backbone },
    memo,
    summary: `transfer learning (${options.method}) of ${path.basename(options.backbone)} on ${path.basename(options.data)}`,
    details: detailsOf(memo),
  };
}

export async function runTransfer(config: Config, flags: RunTransferFlags, out: (line: string) => void): Promise<TransferRunResult | string> {
  const spec = transferStart(config, flags);
  await checkBackboneSpec(config, flags.backbone);
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
