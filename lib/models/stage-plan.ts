// The fine-tuning stages to run when none are given, chosen from how many images train.
// Few images can only move a little of a pretrained network without overfitting: the head,
// then the top blocks gently. More images can support deeper unfreezing for longer.
import type { Stage } from '../../contracts';

export interface StagePlan {
  stages: Stage[];
  reason: string;
}

export function stagePlan(trainImages: number): StagePlan {
  const head: Stage = { name: 'head', unfreeze: 'head', epochs: 5, learningRate: 1e-3 };
  if (trainImages < 1000) {
    return { reason: `${trainImages} training images (< 1,000): the head, then the top 20 layers`, stages: [head, { name: 'top', unfreeze: { topLayers: 20 }, epochs: 5, learningRate: 1e-4 }] };
  }
  if (trainImages < 10_000) {
    return {
      reason: `${trainImages} training images (1,000–10,000): the head, the top 20 layers, then the top 60`,
      stages: [head, { name: 'top', unfreeze: { topLayers: 20 }, epochs: 5, learningRate: 1e-4 }, { name: 'deeper', unfreeze: { topLayers: 60 }, epochs: 5, learningRate: 3e-5 }],
    };
  }
  return {
    reason: `${trainImages} training images (≥ 10,000): the head, the top 40 layers, then the whole network`,
    stages: [head, { name: 'top', unfreeze: { topLayers: 40 }, epochs: 5, learningRate: 1e-4 }, { name: 'all', unfreeze: 'all', epochs: 10, learningRate: 1e-5 }],
  };
}
