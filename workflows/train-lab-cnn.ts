// Workflow `trainLabCnn`: ingest Fashion-MNIST → train the lab CNN → evaluate and report
// → (when asked) compete for champion of a model name in the registry.
// Only keys, options and metrics pass through here; the data stays in S3. Bad input
// fails its activity as non-retryable (workers/bad-input.ts), so retries only cover faults.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type TrainLabCnnInput, LabCnnOptionsSchema, type LabCnnRunResult, runIdFor, LAB_CNN_STEPS, runSteps, labCnnWork } from '../contracts';
import { validOptions } from './options';
import { FAULT_RETRY, TRAINING_RETRY } from './retry';
import { trackSteps } from './steps';

const { ingestFashionMnist, evaluateLabCnn, promoteModel } = proxyActivities<Activities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '2 minutes',
  retry: FAULT_RETRY,
});

const { trainLabCnn: trainActivity } = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours',
  // A batch takes seconds; a silent minute means the worker is gone and the next attempt resumes.
  heartbeatTimeout: '1 minute',
  retry: TRAINING_RETRY,
});

export async function trainLabCnn(input: TrainLabCnnInput): Promise<LabCnnRunResult> {
  const options = validOptions(LabCnnOptionsSchema, input.options);
  const runId = runIdFor(workflowInfo().workflowId);
  const { promotion } = input;
  const steps = runSteps(LAB_CNN_STEPS, !!promotion);
  const { progress, timings, step } = trackSteps('lab-cnn', steps, labCnnWork(options, !!promotion));

  const ingest = await step('ingest', () => ingestFashionMnist({ source: options.source }));
  const train = await step('train', () => trainActivity({ runId, manifestKey: ingest.manifestKey, options, recordEverySeconds: input.recordEverySeconds }));
  const evaluation = await step('evaluate', () =>
    evaluateLabCnn({ runId, manifestKey: ingest.manifestKey, options, ingest, train, timings: { ...timings } }),
  );
  const decision = promotion
    ? await step('promote', () => promoteModel({ runId, ...promotion, requestedBy: input.requestedBy ?? 'unknown' }))
    : undefined;
  progress.step = 'done';
  progress.testAccuracy = evaluation.testAccuracy;
  return {
    runId,
    manifestKey: ingest.manifestKey,
    modelKey: `${train.modelPrefix}/model.json`,
    testAccuracy: evaluation.testAccuracy,
    macroF1: evaluation.macroF1,
    reportKeys: evaluation.reportKeys,
    history: train.history,
    resumedFromEpoch: train.resumedFromEpoch,
    ...(decision ? { promotion: decision } : {}),
  };
}
