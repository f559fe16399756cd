// Walking a Layers model's layers when some of them are models themselves (a backbone nested
// in a classifier, say).
import * as tf from '@tensorflow/tfjs';

type Layer = tf.layers.Layer;

export const isModel = (layer: Layer): layer is tf.LayersModel => layer instanceof tf.LayersModel;

/** All layers, nested models and their layers included, depth first. */
export function allLayers(model: tf.LayersModel): Layer[] {
  return model.layers.flatMap((layer) => (isModel(layer) ? [layer, ...allLayers(layer)] : [layer]));
}

/** The model's own layers, nested models expanded (not listed), in the model's topological order. */
export function leafLayers(model: tf.LayersModel): Layer[] {
  return model.layers.flatMap((l) => (isModel(l) ? leafLayers(l) : [l]));
}

/** The models nested in `model`, at any depth. */
export function nestedModels(model: tf.LayersModel): tf.LayersModel[] {
  return model.layers.filter(isModel).flatMap((m) => [m, ...nestedModels(m)]);
}
