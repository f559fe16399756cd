// Frees a trained model's tensors, its optimizer's included: LayersModel.dispose leaves an
// optimizer it was compiled with as an object (tf.train.adam(...)) alive, moments and all, so
// a long-lived worker would keep every run's optimizer state.
import type * as tf from '@tensorflow/tfjs';

export function disposeModel(model: tf.LayersModel): void {
  const optimizer = model.optimizer as tf.Optimizer | undefined;
  model.dispose();
  // Disposing twice is harmless in tfjs: an optimizer the model owned is already freed.
  optimizer?.dispose();
}
