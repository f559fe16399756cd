// Seeded, stratified k-fold cross-validation on the training images, for choices that one
// small held-back slice cannot make reliably (a few dozen images move accuracy in steps of
// 2 %). Each class's examples are shuffled (seeded) and dealt round-robin into the folds,
// so every fold has the class mix of the whole.
import { seededPermutation } from '../data/dataset';

/** Folds below this many training images: more than this, one held-back slice is enough. */
export const CROSS_VALIDATION_BELOW = 1000;
export const DEFAULT_FOLDS = 5;

/** k disjoint folds of example indices (each sorted) covering 0..labels.length-1. */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, seed: number): Uint32Array[] {
  if (!Number.isInteger(k) || k < 2) throw new Error(`cross-validation: k must be an integer ≥ 2, got ${k}`);
  if (labels.length < k) throw new Error(`cross-validation: ${labels.length} examples cannot make ${k} folds`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const folds: number[][] = Array.from({ length: k }, () => []);
  let next = 0; // continue dealing where the last class stopped, so fold sizes differ by at most one
  for (const [cls, members] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    const order = seededPermutation(members.length, seed + 7919 * (cls + 1));
    for (const j of order) {
      folds[next].push(members[j]);
      next = (next + 1) % k;
    }
  }
  return folds.map((f) => Uint32Array.from(f.sort((a, b) => a - b)));
}

/** Everything but fold `i`. */
export function complement(folds: Uint32Array[], i: number): Uint32Array {
  return Uint32Array.from(folds.flatMap((f, j) => (j === i ? [] : Array.from(f))).sort((a, b) => a - b));
}

export function meanAndSpread(values: number[]): { mean: number; spread: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, spread: Math.sqrt(variance) };
}
