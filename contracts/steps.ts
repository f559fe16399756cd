// Each pipeline's steps, in order, and the expected work of each (it weighs the progress bar).
// The workflows run these steps; the evaluate activities chart them; the CLI shows them.
import type { LabCnnOptions } from './lab-cnn';
import type { TransferOptions } from './transfer';

/** The lab-CNN pipeline's steps before the optional promotion. */
export const LAB_CNN_STEPS = ['ingest', 'train', 'evaluate'];

/** The transfer pipeline's steps before the optional promotion. */
export const TRANSFER_STEPS = ['backbone', 'ingest', 'extract', 'features', 'finetune', 'evaluate'];

/** A run's steps: the pipeline's own, then `promote` when it competes for champion. */
export const runSteps = (pipelineSteps: string[], promote: boolean): string[] => [...pipelineSteps, ...(promote ? ['promote'] : [])];

/**
 * Least seconds between two epoch records an activity sends its workflow. A record costs four
 * history events (a signal and a workflow task), so this keeps training at 48 events an hour
 * however long it runs, under Temporal's 10,240-event warning for more than eight days.
 */
export const RECORD_EVERY_SECONDS = 300;

// Expected work, in training image passes (one image forward and backward); a forward pass alone
// counts a third, ingesting an image a twentieth. Only the ratios between steps matter.
const FORWARD = 1 / 3;
const INGEST = 1 / 20;
const FASHION_MNIST = { train: 60_000, test: 10_000 };

/** Step weights of a lab-CNN run. */
export function labCnnWork(o: LabCnnOptions, promote: boolean): Record<string, number> {
  const images = o.limit ?? FASHION_MNIST.train;
  const perEpoch = images * (1 - o.validationFraction) + images * o.validationFraction * FORWARD;
  return {
    ingest: (FASHION_MNIST.train + FASHION_MNIST.test) * INGEST,
    train: perEpoch * o.epochs,
    evaluate: FASHION_MNIST.test * FORWARD,
    ...(promote ? { promote: 2 * FASHION_MNIST.test * FORWARD } : {}),
  };
}

/** Fine-tuning epochs when no stages are given (lib/models/fine-tune.ts DEFAULT_STAGES: 5 + 5). */
const DEFAULT_FINE_TUNE_EPOCHS = 10;

/** Step weights of a transfer run, per image of the dataset (its size is not known up front). */
export function transferWork(o: TransferOptions, promote: boolean): Record<string, number> {
  const epochs = o.stages ? o.stages.reduce((sum, s) => sum + s.epochs, 0) : DEFAULT_FINE_TUNE_EPOCHS;
  const methods = o.method === 'both' ? 2 : 1;
  const heldOut = 0.2;
  return {
    backbone: 0.01,
    ingest: 4 * INGEST,
    extract: FORWARD,
    features: o.method === 'finetune' ? 0 : 0.05,
    finetune: o.method === 'features' ? 0 : epochs * (1 - o.validationFraction),
    evaluate: methods * heldOut * FORWARD,
    ...(promote ? { promote: 2 * heldOut * FORWARD } : {}),
  };
}
