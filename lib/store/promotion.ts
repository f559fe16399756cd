// Champion/challenger: whether a newly trained model replaces the current champion.
// Pure code: the numbers come from evaluating both models on the challenger's held-out set.
//
// The rule, in order:
//   1. no champion yet                       → promote;
//   2. the champion is this very run         → keep (nothing to do);
//   3. not comparable (other class names, or
//      images of another shape)               → keep; promote by hand with `tl models promote`;
//   4. accuracy gain  > margin                → promote;
//      accuracy gain == margin                → promote only if macro F1 is higher (the tie-break);
//      otherwise                              → keep.
// With margin 0 this reads "better accuracy wins, equal accuracy is decided by macro F1".

export const DEFAULT_PROMOTE_MARGIN = 0.005;

/** Accuracies are ratios of counts, so a tie is exact up to float rounding of the subtraction. */
const TIE = 1e-9;

export interface HeldOutScore {
  accuracy: number;
  macroF1: number;
}

export interface DecisionInput {
  challenger: HeldOutScore & { runId: string };
  /** The champion scored on the same held-out set; undefined when there is no champion. */
  champion?: HeldOutScore & { runId: string };
  /** Set when the champion cannot be scored on this held-out set: why not. */
  notComparable?: string;
  margin: number;
}

export interface Decision {
  promoted: boolean;
  reason: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function decidePromotion({ challenger, champion, notComparable, margin }: DecisionInput): Decision {
  if (!Number.isFinite(margin) || margin < 0 || margin > 1) throw new RangeError(`promotion margin ${margin} is invalid: expected a number from 0 to 1`);
  if (!champion) return { promoted: true, reason: 'no champion yet' };
  if (champion.runId === challenger.runId) return { promoted: false, reason: `run ${challenger.runId} is already the champion` };
  if (notComparable) {
    return { promoted: false, reason: `not comparable with champion ${champion.runId}: ${notComparable}; promote by hand with \`tl models promote --force\`` };
  }
  const gain = challenger.accuracy - champion.accuracy;
  const scores = `accuracy ${pct(challenger.accuracy)} vs champion's ${pct(champion.accuracy)}`;
  if (gain > margin + TIE) return { promoted: true, reason: `${scores}: better by more than the ${pct(margin)} margin` };
  if (Math.abs(gain - margin) <= TIE) {
    const f1 = `macro F1 ${challenger.macroF1.toFixed(4)} vs ${champion.macroF1.toFixed(4)}`;
    return challenger.macroF1 > champion.macroF1 + TIE
      ? { promoted: true, reason: `${scores} ties the ${pct(margin)} margin; ${f1} breaks the tie` }
      : { promoted: false, reason: `${scores} ties the ${pct(margin)} margin; ${f1} does not break the tie` };
  }
  return { promoted: false, reason: `${scores}: not better by the ${pct(margin)} margin` };
}
