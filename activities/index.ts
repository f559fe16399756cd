// The activities a worker registers, built around the worker's config and store.
import type { ActivityDeps } from './deps';
import { ingestFashionMnistActivity } from './ingest-fashion-mnist';
import { trainLabCnnActivity } from './train-lab-cnn';
import { evaluateLabCnnActivity } from './evaluate-lab-cnn';
import { describeBackboneActivity } from './describe-backbone';
import { imageIngestActivities } from './ingest-images';
import { listImagesActivities } from './list-images';
import { extractFeaturesActivities } from './extract-features';
import { trainFeatureHeadActivity } from './train-feature-head';
import { fineTuneActivity } from './fine-tune';
import { evaluateTransferActivity } from './evaluate-transfer';
import { promoteActivity } from './promote';

export function createActivities(deps: ActivityDeps) {
  return {
    // lab CNN
    ingestFashionMnist: ingestFashionMnistActivity(deps),
    trainLabCnn: trainLabCnnActivity(deps),
    evaluateLabCnn: evaluateLabCnnActivity(deps),
    // transfer learning
    describeBackbone: describeBackboneActivity(deps),
    ...listImagesActivities(deps),
    ...imageIngestActivities(deps),
    ...extractFeaturesActivities(deps),
    trainFeatureHead: trainFeatureHeadActivity(deps),
    fineTune: fineTuneActivity(deps),
    evaluateTransfer: evaluateTransferActivity(deps),
    // model registry (both pipelines)
    promoteModel: promoteActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
