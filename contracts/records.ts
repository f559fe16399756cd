// Training records that results and reports carry: epochs, fine-tuning stages.
import { z } from 'zod';
/** One training epoch's scores, as the trainers record them and the reports chart them. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export type Unfreeze = 'head' | 'all' | { topLayers: number } | { blocks: string[] };

export interface Stage {
  name: string;
  /**
   * What trains besides the head: nothing, the whole body, the `topLayers` weight-bearing
   * body layers nearest the output (conv, depthwise, BN, dense each count one; activations,
   * pools and padding carry no weights and do not count), or the body layers whose names
   * start with one of `blocks` (e.g. "conv_pw_13", "block_16_").
   */
  unfreeze: Unfreeze;
  epochs: number;
  learningRate: number;
}

/** One fine-tuning stage: what is trainable, for how long, how fast (lib/models/fine-tune.ts). */
export type StageSpec = Stage;

export interface StageRecord {
  stage: StageSpec;
  history: EpochRecord[];
  trainableLayers: number;
  stoppedEarly: boolean;
  /** Held-back scores of the weights the stage started from (its epoch 0). */
  start?: { valLoss: number; valAccuracy: number };
  /** The epoch whose weights the stage kept: 0 when no epoch beat its start. */
  keptEpoch?: number;
}

/** Epoch records as heartbeats carry them back to a retried attempt. */
export const epochRecordSchema: z.ZodType<EpochRecord> = z.object({
  epoch: z.number().int().nonnegative(),
  loss: z.number(),
  accuracy: z.number(),
  valLoss: z.number(),
  valAccuracy: z.number(),
  seconds: z.number(),
  imagesPerSecond: z.number(),
});
