// Activity: method 1, feature extraction. A multinomial logistic-regression head on the
// frozen backbone's (cached) features, L2 chosen by k-fold cross-validation on train when it
// is small (else on the held-back part of train); saved
// as one tfjs model (body + head) that predicts straight from images.
import type { TrainFeatureHeadInput, MethodResult } from '../contracts';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import { loadManifest, trainValidationSplit } from '../lib/data/dataset';
import { featureShardsOf, loadFeatureSplit, selectRows } from '../lib/data/features';
import { fitLogisticRegression, toLayersModel } from '../lib/models/logistic-regression';
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
    const train = await loadFeatureSplit(store, featureShardsOf(input.manifestKey, manifest, input.backbone, 'train'), 'train', input.backbone.featureDim);
    const split = trainValidationSplit(train.count, input.options);
    const started = Date.now();
    // Few images: λ by k-fold CV over all of train; the head is then fitted with that λ on the
    // same part of train as before, so the held-back slice still scores it honestly (and
    // fine-tuning's epoch 0 is this head).
    const cv = train.count < CROSS_VALIDATION_BELOW ? await crossValidateL2(train, numClasses, { folds: DEFAULT_FOLDS, seed: input.options.seed }) : undefined;
    const lr = await fitLogisticRegression(
      { train: selectRows(train, split.train), val: selectRows(train, split.validation), dim: train.dim, numClasses },
      { seed: input.options.seed, ...(cv ? { l2Grid: [cv.chosenL2] } : {}) },
    );
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
      ...(cv ? { l2Selection: `${DEFAULT_FOLDS}-fold stratified cross-validation on ${train.count} training images` } : {}),
    };
  };
}
