// Step bookkeeping shared by the pipelines: the `progress` query, the boundary records long
// activities send (the `recordProgress` signal, a few per hour at most), how long each step
// took, the TlStep / TlBestAccuracy search attributes, and the line the Web UI shows as the
// run's current details, so lists, the UI and the CLI all see what the query sees.
import { setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { type RunProgress, type StepProgress, progressLine } from '../contracts';
import { TL_BEST_ACCURACY, TL_STEP } from '../contracts/search-attributes';
import { progressQuery, recordProgressSignal } from '../contracts/signals';

/**
 * The progress the query returns. Its `step`, `detail` and `testAccuracy` are accessors: a step
 * change upserts TlStep, a test accuracy TlBestAccuracy, and every change rewrites the current
 * details, so a workflow only ever assigns `progress.step = 'done'` and the rest follows.
 */
function trackedProgress(pipeline: string, steps: string[], work: Record<string, number>): RunProgress {
  let step = 'starting';
  let detail: StepProgress | undefined;
  let testAccuracy: number | undefined;
  const progress = { pipeline, steps, work } as RunProgress;
  const describe = () => {
    const accuracy = testAccuracy === undefined ? '' : ` (accuracy ${(testAccuracy * 100).toFixed(2)}%)`;
    setCurrentDetails(`${pipeline}: ${progressLine(progress)}${accuracy}`);
  };
  /** An enumerable accessor whose every assignment also rewrites the current details. */
  const watched = <T>(get: () => T, set: (value: T) => void): PropertyDescriptor => ({
    enumerable: true,
    get,
    set: (value: T) => {
      set(value);
      describe();
    },
  });
  Object.defineProperties(progress, {
    step: watched(
      () => step,
      (value: string) => {
        if (value !== step) upsertSearchAttributes([{ key: TL_STEP, value }]);
        step = value;
      },
    ),
    detail: watched(
      () => detail,
      (value: StepProgress | undefined) => (detail = value),
    ),
    testAccuracy: watched(
      () => testAccuracy,
      (value: number | undefined) => {
        testAccuracy = value;
        upsertSearchAttributes([{ key: TL_BEST_ACCURACY, value: value ?? null }]);
      },
    ),
  });
  return progress;
}

export function trackSteps(pipeline: string, steps: string[], work: Record<string, number>) {
  const progress = trackedProgress(pipeline, steps, work);
  const timings: Record<string, number> = {};
  setHandler(progressQuery, () => progress);
  setHandler(recordProgressSignal, (record) => {
    if (record.step === progress.step) progress.detail = record;
  });
  /** Runs one step, keeping the query's view and the timings up to date. */
  const step = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    progress.detail = undefined;
    progress.step = name;
    const started = Date.now();
    try {
      return await body();
    } catch (err) {
      progress.step = 'failed';
      throw err;
    } finally {
      timings[name] = (Date.now() - started) / 1000;
    }
  };
  return { progress, timings, step };
}
