// Step bookkeeping shared by the pipelines: the `progress` query, live detail from
// activities (the `stepProgress` signal), how long each step took, and the TlStep /
// TlBestAccuracy search attributes, so lists and the Temporal UI see what the query sees.
import { setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunProgress } from '../lib/pipeline-types';
import { TL_BEST_ACCURACY, TL_STEP } from '../lib/search-attributes';
import { progressQuery, stepProgressSignal } from './definitions';

/**
 * The progress the query returns. Its `step` and `testAccuracy` are accessors that upsert the
 * matching search attribute on every change, so a workflow only ever sets `progress.step = 'done'`
 * and `progress.testAccuracy = …` and the run becomes findable by them.
 */
function trackedProgress(pipeline: string, steps: string[]): RunProgress {
  let step = 'starting';
  let testAccuracy: number | undefined;
  const progress = { pipeline, steps } as RunProgress;
  Object.defineProperties(progress, {
    step: {
      enumerable: true,
      get: () => step,
      set: (value: string) => {
        if (value !== step) upsertSearchAttributes([{ key: TL_STEP, value }]);
        step = value;
      },
    },
    testAccuracy: {
      enumerable: true,
      get: () => testAccuracy,
      set: (value: number | undefined) => {
        testAccuracy = value;
        upsertSearchAttributes([{ key: TL_BEST_ACCURACY, value: value ?? null }]);
      },
    },
  });
  return progress;
}

export function trackSteps(pipeline: string, steps: string[]) {
  const progress = trackedProgress(pipeline, steps);
  const timings: Record<string, number> = {};
  setHandler(progressQuery, () => progress);
  setHandler(stepProgressSignal, (detail) => {
    if (detail.step === progress.step) progress.detail = detail;
  });
  /** Runs one step, keeping the query's view and the timings up to date. */
  const step = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    progress.step = name;
    progress.detail = undefined;
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
