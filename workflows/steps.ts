// Step bookkeeping shared by the pipelines: the `progress` query, live detail from
// activities (the `stepProgress` signal), and how long each step took.
import { setHandler } from '@temporalio/workflow';
import type { RunProgress } from '../lib/pipeline-types';
import { progressQuery, stepProgressSignal } from './definitions';

export function trackSteps(pipeline: string, steps: string[]) {
  const progress: RunProgress = { pipeline, step: 'starting', steps };
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
