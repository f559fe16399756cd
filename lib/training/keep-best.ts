// Which epoch of a fine-tuning stage to keep. A stage's starting weights count as its epoch 0
// (for the first stage after a warm start, the logistic-regression head itself): a later epoch
// is kept only if it does better on the held-back images, so training can only help there.
export interface Scored {
  valLoss: number;
  valAccuracy: number;
}

export interface KeptEpoch extends Scored {
  epoch: number;
  weightsKey: string;
}

/**
 * Accuracy first (what the methods are finally judged and chosen on), held-back loss to break
 * ties (on a few dozen images many epochs share an accuracy). NaN never beats anything.
 */
export function beats(candidate: Scored, incumbent: Scored): boolean {
  if (!Number.isFinite(candidate.valLoss) || Number.isNaN(candidate.valAccuracy)) return false;
  if (candidate.valAccuracy !== incumbent.valAccuracy) return candidate.valAccuracy > incumbent.valAccuracy;
  return candidate.valLoss < incumbent.valLoss;
}

/** The better of the kept epoch and a new one. */
export function keepBetter(kept: KeptEpoch | null, next: KeptEpoch): KeptEpoch {
  return !kept || beats(next, kept) ? next : kept;
}
