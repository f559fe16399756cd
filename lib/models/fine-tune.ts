// Fine-tuning a backbone: a softmax head on the body, trained in stages that unfreeze more
// of the body at smaller learning rates.
//
// Batch normalisation: in tfjs, `fit`/`trainOnBatch` run every layer with training=true,
// and BatchNormalization then normalises with the batch's statistics and updates its
// moving mean/variance even when the layer is not trainable (Keras ≥ 2.1.3 runs a frozen
// BN layer in inference mode instead). On small fine-tuning batches that would silently
// overwrite the pretrained statistics. applyStage therefore makes every frozen BN layer
// run in inference mode (its `call` always gets training=false) and restores the normal
// `call` when a later stage unfreezes it.
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../config';
import { foldedWeights, type LogisticRegressionModel } from './logistic-regression';
import { foldFrozenPrefix } from './fold-batch-norm';
import { leafLayers, nestedModels } from './layers';
import { LayerwiseAdam } from '../training/layerwise-adam';
import { describeIssues, StagesSchema, type Stage, type Unfreeze } from '../../contracts';


/** Name of the head layer buildFineTuneModel adds. */
export const HEAD_LAYER_NAME = 'tl_head';

/** Train the new head alone first (so its random start cannot wreck the body), then the top of the body gently. */
export const DEFAULT_STAGES: Stage[] = [
  { name: 'head', unfreeze: 'head', epochs: 5, learningRate: 1e-3 },
  { name: 'top', unfreeze: { topLayers: 20 }, epochs: 5, learningRate: 1e-4 },
];

type Layer = tf.layers.Layer;

/**
 * The body with a Dense softmax head named HEAD_LAYER_NAME: freshly initialised (seeded
 * Glorot), or the logistic-regression head with its standardisation folded in. The model
 * shares the body's layers (and so its weights): give it a body nobody else uses.
 */
export function buildFineTuneModel(
  body: tf.LayersModel,
  numClasses: number,
  opts: { seed: number; warmStart?: LogisticRegressionModel },
): tf.LayersModel {
  const features = body.outputs[0];
  const dim = features.shape[1];
  if (body.outputs.length !== 1 || features.shape.length !== 2 || !dim) {
    throw new Error(`fine-tune: the body must output [null, d] features, not ${JSON.stringify(body.outputs.map((o) => o.shape))}`);
  }
  const dense = tf.layers.dense({
    units: numClasses,
    activation: 'softmax',
    name: HEAD_LAYER_NAME,
    kernelInitializer: tf.initializers.glorotUniform({ seed: opts.seed }),
    biasInitializer: 'zeros',
  });
  const model = tf.model({ inputs: body.inputs, outputs: dense.apply(features) as tf.SymbolicTensor, name: 'fine_tune' });
  const warm = opts.warmStart;
  if (warm) {
    if (warm.mean.length !== dim || warm.bias.length !== numClasses) {
      throw new Error(`fine-tune: the warm-start head maps ${warm.mean.length} features to ${warm.bias.length} classes; the body gives ${dim} and there are ${numClasses}`);
    }
    const { kernel, bias } = foldedWeights(warm);
    tf.tidy(() => dense.setWeights([tf.tensor2d(kernel, [dim, numClasses]), tf.tensor1d(bias)]));
  }
  return model;
}

// ---- Stages from JSON ----

/** Parses a JSON array of stages; an error names each bad field, e.g. `stages[1].learningRate: …`. */
export function parseStages(json: string): Stage[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`stages: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = StagesSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues.map((i) => ({ ...i, path: ['stages', ...i.path] }))));
  return parsed.data;
}

// ---- Applying a stage ----

const hasWeights = (l: Layer) => l.weights.length > 0;
const isBatchNorm = (l: Layer) => l.getClassName() === 'BatchNormalization';

const INFERENCE_MODE = Symbol('tl.batchNormInferenceMode');
type CallFn = Layer['call'];

/** Makes a BN layer always normalise with (and never update) its moving statistics, or undoes that. */
export function setBatchNormInferenceMode(layer: Layer, on: boolean): void {
  const own = layer as Layer & { [INFERENCE_MODE]?: boolean; call: CallFn };
  if (on && !own[INFERENCE_MODE]) {
    const original = Object.getPrototypeOf(layer).call as CallFn;
    // An own property shadows the prototype's call; deleting it restores the original.
    own.call = function (this: Layer, inputs, kwargs) {
      return original.call(this, inputs, { ...kwargs, training: false });
    };
    own[INFERENCE_MODE] = true;
  } else if (!on && own[INFERENCE_MODE]) {
    delete (own as Partial<typeof own>).call;
    delete own[INFERENCE_MODE];
  }
}

export function isBatchNormInInferenceMode(layer: Layer): boolean {
  return (layer as Layer & { [INFERENCE_MODE]?: boolean })[INFERENCE_MODE] === true;
}

/** Which body layers a stage unfreezes (layers without weights follow the same rule, harmlessly). */
function unfrozenBody(body: Layer[], unfreeze: Unfreeze): Set<Layer> {
  if (unfreeze === 'head') return new Set();
  if (unfreeze === 'all') return new Set(body);
  if ('topLayers' in unfreeze) {
    const weighted = body.filter(hasWeights);
    const from = weighted.length > unfreeze.topLayers ? weighted[weighted.length - unfreeze.topLayers] : weighted[0];
    return new Set(from ? body.slice(body.indexOf(from)) : []);
  }
  const unmatched = unfreeze.blocks.filter((p) => !body.some((l) => l.name.startsWith(p)));
  if (unmatched.length) {
    const examples = body.filter(hasWeights).slice(-6).map((l) => l.name);
    throw new ConfigError(`unfreeze.blocks: no layer name starts with ${unmatched.map((p) => JSON.stringify(p)).join(', ')} (the last layers are ${examples.join(', ')})`);
  }
  return new Set(body.filter((l) => unfreeze.blocks.some((p) => l.name.startsWith(p))));
}

const ownedOptimizers = new WeakSet<tf.Optimizer>();
/** Undoes the folding of the model's current stage (see foldFrozenPrefix). */
const unfoldStage = new WeakMap<tf.LayersModel, () => void>();

/**
 * Sets `trainable` on every layer for the stage (head layers always train), puts frozen BN
 * layers in inference mode (unfrozen ones back to normal), folds the batch norms of the frozen
 * layers below all trained ones into their convolutions (they only compute features), and
 * recompiles with a fresh Adam at the stage's learning rate (the previous stage's moments
 * belong to other weights). Returns how many weight-bearing layers now train.
 */
/** Recipe choices applied with every stage (lib/training: label smoothing, discriminative rates). */
export interface StageRecipe {
  /** ε: targets become (1 − ε)·one-hot + ε/k. 0 = plain cross-entropy. */
  labelSmoothing?: number;
  /**
   * Discriminative learning rates: the trained body layers are cut into three groups by depth;
   * the head and the top group learn at the stage's rate, the middle at ×d, the bottom at ×d².
   * 1 (or unset) = one rate for all.
   */
  layerDecay?: number;
}

export function applyStage(model: tf.LayersModel, stage: Stage, headLayerNames: string[], recipe: StageRecipe = {}): number {
  const leaves = leafLayers(model);
  const head = new Set(headLayerNames);
  for (const name of head) {
    if (!leaves.some((l) => l.name === name)) throw new Error(`fine-tune: head layer ${JSON.stringify(name)} is not in the model`);
  }
  const body = leaves.filter((l) => !head.has(l.name));
  const unfrozen = unfrozenBody(body, stage.unfreeze);
  unfoldStage.get(model)?.(); // first: folding wraps the calls that inference mode sets
  unfoldStage.delete(model);
  // A nested model's trainable=false hides all its layers' weights: keep containers on and
  // decide per leaf. (Setting a container's flag resets its layers', so do it first.)
  for (const m of [model, ...nestedModels(model)]) m.trainable = true;
  for (const layer of leaves) {
    layer.trainable = head.has(layer.name) || unfrozen.has(layer);
    if (isBatchNorm(layer)) setBatchNormInferenceMode(layer, !layer.trainable);
  }
  unfoldStage.set(model, foldFrozenPrefix(model));
  const previous = model.optimizer;
  if (previous && ownedOptimizers.has(previous)) previous.dispose();
  const trainedBody = body.filter((l) => l.trainable && hasWeights(l));
  const decay = recipe.layerDecay ?? 1;
  const optimizer = decay !== 1 && trainedBody.length >= 3 ? layerwiseOptimizer(stage.learningRate, decay, trainedBody) : tf.train.adam(stage.learningRate);
  ownedOptimizers.add(optimizer);
  model.compile({ optimizer, loss: crossEntropy(recipe.labelSmoothing ?? 0), metrics: ['accuracy'] });
  return leaves.filter((l) => l.trainable && hasWeights(l)).length;
}

/** Head and the top third of the trained body: ×1; middle third ×d; bottom third ×d². */
function layerwiseOptimizer(learningRate: number, decay: number, trainedBody: Layer[]): tf.Optimizer {
  const groupOfVariable = new Map<string, number>();
  trainedBody.forEach((layer, i) => {
    const fromTop = trainedBody.length - 1 - i;
    const group = Math.min(2, Math.floor((3 * fromTop) / trainedBody.length));
    for (const w of layer.trainableWeights) groupOfVariable.set(w.name, group);
  });
  return new LayerwiseAdam(learningRate, [1, decay, decay * decay], (name) => groupOfVariable.get(name) ?? 0);
}

/** Categorical cross-entropy, with label smoothing when ε > 0. */
function crossEntropy(epsilon: number): string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor) {
  if (!(epsilon > 0)) return 'categoricalCrossentropy';
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const k = yTrue.shape[yTrue.rank - 1] as number;
      return tf.metrics.categoricalCrossentropy(tf.add(tf.mul(yTrue, 1 - epsilon), epsilon / k), yPred);
    });
}

/** Names of the weight-bearing layers that train, in model order (for reports and tests). */
export function trainableLayerNames(model: tf.LayersModel): string[] {
  return leafLayers(model)
    .filter((l) => l.trainable && l.trainableWeights.length > 0)
    .map((l) => l.name);
}
