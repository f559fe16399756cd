// Which transfer-learning method a run keeps: the one with the higher accuracy on the held-out
// split, which neither method saw while training or choosing its settings.

export type TransferMethodName = 'features' | 'finetune';

export interface MethodScore {
  method: TransferMethodName;
  /** How reports name the method ("Fine-tuning"). */
  label: string;
  heldOutAccuracy: number;
}

export interface MethodChoice {
  method: TransferMethodName;
  reason: string;
}

/**
 * Higher held-out accuracy wins; on a tie the features method does, being the cheaper model to
 * serve and to retrain. The reason quotes both scores and the held-out set they come from.
 */
export function chooseMethod(scores: MethodScore[], heldOut: { split: string; count: number }): MethodChoice {
  if (scores.length === 0) throw new Error('chooseMethod: no method was trained, so there is nothing to choose from');
  const ranked = [...scores].sort((a, b) => b.heldOutAccuracy - a.heldOutAccuracy || (a.method === 'features' ? -1 : b.method === 'features' ? 1 : 0));
  const [winner, runnerUp] = ranked;
  const reason = runnerUp
    ? `${(winner.heldOutAccuracy * 100).toFixed(1)}% vs ${(runnerUp.heldOutAccuracy * 100).toFixed(1)}% held-out accuracy on ${heldOut.split} (${heldOut.count} images)`
    : `only ${winner.label.toLowerCase()} ran`;
  return { method: winner.method, reason };
}
