// Activity: method 1, feature extraction. A multinomial logistic-regression head on the
// frozen backbone's (cached) features, L2 chosen by k-fold cross-validation on train when it
// is small (else on the held-back part of train); saved
// as one tfjs model (body + head) that predicts straight from images. Train's features are
// loaded when they fit the worker's budget (TL_FEATURE_MEMORY_BYTES), else streamed from S3.
import type { TrainFeatureHeadInput, MethodResult } from '../contracts';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import { loadManifest, trainValidationSplit } from '../lib/data/dataset';
import { featureShardsOf, loadFeatureSplit, selectRows, type FeatureShardRef } from '../lib/data/features';
import { ShardRowCache, splitMembership, streamedFeatureRows } from '../lib/data/streamed-features';
import type { ArtifactStore } from '../lib/store/store';
import { fitLogisticRegression, toLayersModel, type LogisticRegressionData } from '../lib/models/logistic-regression';
import { crossValidateL2 } from '../lib/models/logistic-regression-cv';
import { CROSS_VALIDATION_BELOW, DEFAULT_FOLDS } from '../lib/training/cross-validation';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { transferKeys, predictionMetadata } from '../lib/transfer';
import { cachedBackbone } from './backbones';

export function trainFeatureHeadActivity(deps: ActivityDeps) {
  return async function trainFeatureHead(input: TrainFeatureHeadInput): Promise<MethodResult> {
    const { store } = deps();
    const keys = transferKeys(input.runId);
    const manifest = await loadManifest(store, input.manifestKey);
    const numClasses = manifest.classNames.length;
    const shards = featureShardsOf(input.manifestKey, manifest, input.backbone, 'train');
    const dim = input.backbone.featureDim;
    const count = shards.reduce((n, s) => n + s.count, 0);
    const split = trainValidationSplit(count, input.options);
    // Cross-validation (few images) needs all of train at hand; so few always fit in memory.
    const featureHeadPath = count < CROSS_VALIDATION_BELOW || count * dim * 4 <= deps().config.featureMemoryBytes ? 'in-memory' : 'streamed';
    const train = featureHeadPath === 'in-memory' ? await loadFeatureSplit(store, shards, 'train', dim) : undefined;
    const data = train ? { train: selectRows(train, split.train), val: selectRows(train, split.validation) } : streamedData(store, shards, dim, splitMembership(count, split), deps().config.featureMemoryBytes);
    const started = Date.now();
    // Few images: λ by k-fold CV over all of train; the head is then fitted with that λ on the
    // same part of train as before, so the held-back slice still scores it honestly (and
    // fine-tuning's epoch 0 is this head).
    const cv = train && train.count < CROSS_VALIDATION_BELOW ? await crossValidateL2(train, numClasses, { folds: DEFAULT_FOLDS, seed: input.options.seed }) : undefined;
    const lr = await fitLogisticRegression({ ...data, dim, numClasses }, { seed: input.options.seed, ...(cv ? { l2Grid: [cv.chosenL2] } : {}) });
    const trainSeconds = (Date.now() - started) / 1000;
    const headKey = keys.featureHead;
    await store.putJson(headKey, {
      ...lr,
      weights: Array.from(lr.weights),
      bias: Array.from(lr.bias),
      mean: Array.from(lr.mean),
      std: Array.from(lr.std),
    });

    const backbone = await cachedBackbone(store, input.backbone.source, input.backbone.cutLayer, input.backbone.scaling);
    const head = toLayersModel(lr);
    const full = tf.model({ inputs: backbone.body.inputs, outputs: head.apply(backbone.body.outputs[0]) as tf.SymbolicTensor });
    full.setUserDefinedMetadata({ ...predictionMetadata(manifest, input.backbone, input.options) });
    await full.save(s3ModelIO(store, keys.methodModel('features')));
    return {
      method: 'features',
      modelPrefix: keys.methodModel('features'),
      selectionAccuracy: lr.valAccuracy,
      trainSeconds,
      imagesPerSecond: (split.train.length * Math.max(1, lr.epochs)) / Math.max(trainSeconds, 1e-6),
      headKey,
      l2Grid: cv?.grid ?? lr.grid,
      chosenL2: lr.l2,
      backend: deps().backend,
      featureHeadPath,
      ...(cv ? { l2Selection: `${DEFAULT_FOLDS}-fold stratified cross-validation on ${count} training images` } : {}),
    };
  };
}

/** Both parts read shard by shard; as many decoded rows as the budget allows stay cached between passes. */
function streamedData(
  store: ArtifactStore,
  shards: FeatureShardRef[],
  dim: number,
  membership: ReturnType<typeof splitMembership>,
  budget: number,
): Pick<LogisticRegressionData, 'train' | 'val'> {
  const cache = new ShardRowCache(budget);
  return {
    train: streamedFeatureRows(store, shards, dim, membership, 'train', { cache }),
    val: streamedFeatureRows(store, shards, dim, membership, 'validation', { cache }),
  };
}
