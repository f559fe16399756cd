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
 * Higher held-back accuracy (what the methods are finally judged and chosen on). An equal
 * accuracy at a lower loss does not count: on a few dozen images most epochs tie, and on
 * hymenoptera those loss-only wins lost held-out images to the head they replaced. A start
 * with no score (a fresh head before its first epoch is never unscored, but a checkpoint
 * from an older run may be) is beaten by any finite epoch. NaN never beats anything.
 */
export function beats(candidate: Scored, incumbent: Scored): boolean {
  if (!Number.isFinite(candidate.valLoss) || Number.isNaN(candidate.valAccuracy)) return false;
  if (incumbent.valAccuracy === undefined || Number.isNaN(incumbent.valAccuracy)) return true;
  return candidate.valAccuracy > incumbent.valAccuracy;
}

/** The better of the kept epoch and a new one. */
export function keepBetter(kept: KeptEpoch | null, next: KeptEpoch): KeptEpoch {
  return !kept || beats(next, kept) ? next : kept;
}
