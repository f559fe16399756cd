// λ for the logistic-regression head by stratified k-fold cross-validation on train: each λ
// is fitted on k−1 folds and scored on the one left out; the λ with the lowest mean log-loss
// wins (ties: the stronger penalty), and each fold's score is kept for the report.
import { selectRows, type FeatureSplit } from '../data/features';
import { complement, meanAndSpread, stratifiedFolds } from '../training/cross-validation';
import { DEFAULT_L2_GRID, fitLogisticRegression } from './logistic-regression';

export interface CrossValidatedL2 {
  l2: number;
  /** Mean over folds. */
  valAccuracy: number;
  valLoss: number;
  /** Sample standard deviation of the fold accuracies. */
  spread: number;
  foldAccuracies: number[];
}

export async function crossValidateL2(
  train: FeatureSplit,
  numClasses: number,
  opts: { folds: number; seed: number; l2Grid?: readonly number[] },
): Promise<{ chosenL2: number; grid: CrossValidatedL2[] }> {
  const grid = [...(opts.l2Grid ?? DEFAULT_L2_GRID)];
  const folds = stratifiedFolds(train.y, opts.folds, opts.seed);
  const perFold: { l2: number; valAccuracy: number; valLoss: number }[][] = [];
  for (let i = 0; i < folds.length; i++) {
    const fit = await fitLogisticRegression(
      { train: selectRows(train, complement(folds, i)), val: selectRows(train, folds[i]), dim: train.dim, numClasses },
      { seed: opts.seed, l2Grid: grid },
    );
    perFold.push(fit.grid);
  }
  const scored = grid.map((l2, g) => {
    const accuracies = perFold.map((f) => f[g].valAccuracy);
    const { mean, spread } = meanAndSpread(accuracies);
    return { l2, valAccuracy: mean, valLoss: meanAndSpread(perFold.map((f) => f[g].valLoss)).mean, spread, foldAccuracies: accuracies };
  });
  const strongestFirst = [...scored].sort((a, b) => b.l2 - a.l2);
  const best = strongestFirst.reduce((b, s) => (s.valLoss < b.valLoss - 1e-12 ? s : b));
  return { chosenL2: best.l2, grid: scored };
}
