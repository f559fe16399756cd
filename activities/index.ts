// The activities a worker registers, built around the worker's config and store.
import type { ActivityDeps } from './deps';
import { ingestFashionMnistActivity } from './ingest-fashion-mnist';
import { trainLabCnnActivity } from './train-lab-cnn';
import { evaluateLabCnnActivity } from './evaluate-lab-cnn';

export function createActivities(deps: ActivityDeps) {
  return {
    ingestFashionMnist: ingestFashionMnistActivity(deps),
    trainLabCnn: trainLabCnnActivity(deps),
    evaluateLabCnn: evaluateLabCnnActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
