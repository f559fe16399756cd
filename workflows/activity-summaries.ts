// Workflow interceptor that gives every activity a one-line summary ("user metadata"), shown
// next to the activity in the Temporal UI's event history, so a person reading a run sees what
// each activity is for without opening its input. Registered by the worker (workers/worker.ts).
import type { ActivityInput, Next, WorkflowInterceptorsFactory, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import type { Activities } from '../activities';

type Summaries = { [K in keyof Activities]?: (input: Parameters<Activities[K]>[0]) => string };

const SUMMARIES: Summaries = {
  ingestFashionMnist: (i) => `ingest Fashion-MNIST from ${i.source ?? 'TL_FASHION_MNIST_DIR'}`,
  trainLabCnn: (i) =>
    `train the lab CNN: ${i.options.epochs} epoch(s), batch ${i.options.batchSize}${i.options.limit ? `, ${i.options.limit} images` : ''}`,
  evaluateLabCnn: () => 'evaluate on the test split and write the report',
  describeBackbone: (i) => `read backbone ${i.backbone}${i.cutLayer ? ` (cut at ${i.cutLayer})` : ''}`,
  listImageFiles: (i) => `list the image files of ${i.data}`,
  hashImagePage: (i) => `hash and upload the files of listing page ${i.page}`,
  planImageDataset: (i) => `plan the image dataset from ${i.data}${i.listingKey ? ' (listed)' : ''}`,
  ingestImageShard: (i) => `decode and store image shard ${i.shardIndex}`,
  finalizeImageDataset: () => 'read the shard results and write the dataset manifest',
  countDatasetShards: () => 'count the dataset shards per split',
  extractFeatures: (i) => `extract backbone features: ${i.split} shard ${i.shardIndex}`,
  trainFeatureHead: () => 'fit the logistic-regression head on the features',
  fineTune: (i) => `fine-tune the backbone${i.options.stages ? ` in ${i.options.stages.length} stage(s)` : ''}`,
  promoteModel: (i) => `compare with the champion of ${i.modelName} and promote if better by more than ${i.margin}`,
  evaluateTransfer: (i) => `evaluate ${i.methods.map((m) => m.method).join(' and ')} on held-out images and choose`,
};

class ActivitySummaries implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    if (input.options.summary !== undefined) return next(input);
    const describe = SUMMARIES[input.activityType as keyof Activities] as ((arg: unknown) => string) | undefined;
    const summary = describe ? describe(input.args[0]) : input.activityType;
    return next({ ...input, options: { ...input.options, summary } });
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new ActivitySummaries()] });
