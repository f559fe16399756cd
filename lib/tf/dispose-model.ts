// Freeing what a trained model holds, including what tfjs itself leaves behind: LayersModel.dispose
// keeps an optimizer it was compiled with as an object (tf.train.adam(...)) alive, moments and
// all, and an optimizer's getWeights makes a fresh step-count scalar at every call that nobody
// frees. A long-lived worker would keep a little of every run it trained.
import * as tf from '@tensorflow/tfjs';

type NamedTensor = { name: string; tensor: tf.Tensor };

export function disposeModel(model: tf.LayersModel): void {
  const optimizer = model.optimizer as tf.Optimizer | undefined;
  model.dispose();
  // Disposing twice is harmless in tfjs: an optimizer the model owned is already freed.
  optimizer?.dispose();
}

/** Frees the tensors an optimizer's getWeights made for the call (its step count), never its own variables. */
export function disposeOptimizerCopies(weights: NamedTensor[]): void {
  for (const { tensor } of weights) if (!(tensor instanceof tf.Variable)) tensor.dispose();
}

/** model.save with the optimizer's state, freeing the step-count scalar tfjs reads for it and keeps. */
export async function saveWithOptimizer(model: tf.LayersModel, handler: tf.io.IOHandler): Promise<tf.io.SaveResult> {
  const optimizer = model.optimizer as tf.Optimizer | undefined;
  if (!optimizer) return model.save(handler, { includeOptimizer: true });
  const read: NamedTensor[] = [];
  const getWeights = optimizer.getWeights;
  optimizer.getWeights = async () => {
    const weights = await getWeights.call(optimizer);
    read.push(...weights);
    return weights;
  };
  try {
    return await model.save(handler, { includeOptimizer: true });
  } finally {
    delete (optimizer as { getWeights?: unknown }).getWeights; // back to the class's own
    disposeOptimizerCopies(read);
  }
}
