// Classification metrics computed from label vectors. Pure code, so reports and tests need no tfjs.

export interface ClassMetrics {
  className: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of samples whose true label is this class. */
  support: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  /** Unweighted mean of per-class F1 over the classes that occur in the true or the predicted labels. */
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  count: number;
}

function checkLabels(name: string, labels: ArrayLike<number>, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new RangeError(`${name}[${i}] = ${v} is not a class index in [0, ${numClasses - 1}]`);
    }
  }
}

/** Counts of (true, predicted) pairs: result[true][predicted]. */
export function confusionMatrix(trueLabels: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number): number[][] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  }
  if (trueLabels.length !== predicted.length) {
    throw new RangeError(`trueLabels has ${trueLabels.length} entries but predicted has ${predicted.length}`);
  }
  checkLabels('trueLabels', trueLabels, numClasses);
  checkLabels('predicted', predicted, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < trueLabels.length; i++) m[trueLabels[i]][predicted[i]]++;
  return m;
}

/**
 * Accuracy, per-class precision/recall/F1 and macro F1.
 * Where a ratio is 0/0 it is taken as 0 rather than NaN: precision of a class never predicted,
 * recall of a class with no support, and F1 when precision + recall is 0.
 * Labels are indices into classNames.
 */
export function classificationMetrics(
  trueLabels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classNames: string[],
): ClassificationMetrics {
  if (classNames.length === 0) throw new RangeError('classNames is empty');
  if (trueLabels.length === 0) throw new RangeError('no samples: trueLabels and predicted are empty');
  const n = classNames.length;
  const confusion = confusionMatrix(trueLabels, predicted, n);
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

  let correct = 0;
  const perClass: ClassMetrics[] = [];
  const f1Present: number[] = [];
  for (let c = 0; c < n; c++) {
    const tp = confusion[c][c];
    correct += tp;
    let support = 0;
    let predictedCount = 0;
    for (let k = 0; k < n; k++) {
      support += confusion[c][k];
      predictedCount += confusion[k][c];
    }
    const precision = ratio(tp, predictedCount);
    const recall = ratio(tp, support);
    const f1 = ratio(2 * precision * recall, precision + recall);
    perClass.push({ className: classNames[c], precision, recall, f1, support });
    // Classes absent from both label sets say nothing about the model; leaving them out of the mean
    // matches scikit-learn's default.
    if (support > 0 || predictedCount > 0) f1Present.push(f1);
  }
  const macroF1 = f1Present.reduce((a, b) => a + b, 0) / f1Present.length;
  return { accuracy: correct / trueLabels.length, macroF1, perClass, confusion, count: trueLabels.length };
}
