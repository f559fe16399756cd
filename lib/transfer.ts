// Keys and metadata of the transfer-learning pipeline.
import type { DatasetManifest } from './data/dataset';
import { type BackboneInfo, type PredictionMetadata, type TransferOptions, runKeys } from '../contracts';

export const transferKeys = (runId: string) => ({
  ...runKeys(runId),
  featureHead: `runs/${runId}/methods/features/logistic-regression.json`,
  methodModel: (method: 'features' | 'finetune') => `runs/${runId}/methods/${method}/model`,
  checkpoint: (stage: number, epoch: number) => `runs/${runId}/methods/finetune/checkpoints/stage-${stage}-epoch-${String(epoch).padStart(3, '0')}`,
});

export function predictionMetadata(manifest: DatasetManifest, backbone: BackboneInfo, options: TransferOptions): PredictionMetadata {
  return {
    classNames: manifest.classNames,
    inputSize: backbone.inputSize,
    channels: backbone.channels,
    scaling: backbone.scaling,
    resize: options.resize,
    ...(manifest.imageShape[0] !== backbone.inputSize[0] || manifest.imageShape[1] !== backbone.inputSize[1] ? { storedSize: [manifest.imageShape[0], manifest.imageShape[1]] as [number, number] } : {}),
  };
}

/** The split that judges the methods: `test` when the dataset has one, else `val`. */
export function heldOutSplit(manifest: DatasetManifest): string {
  if (manifest.splits.test) return 'test';
  if (manifest.splits.val) return 'val';
  throw new Error(`dataset ${manifest.name} has no held-out split (test or val)`);
}
