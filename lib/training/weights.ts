// Checkpoints of a model's weights by position (model.getWeights() order, which includes
// batch-norm moving statistics). Names are not used: tfjs renames variables when the same
// architecture is built twice in one process, but their order never changes.
import * as tf from '@tensorflow/tfjs';
import type { ArtifactStore } from '../store';

interface WeightsIndex {
  format: 'tl.weights/v1';
  specs: tf.io.WeightsManifestEntry[];
  data: string; // key of the concatenated weight bytes
}

export async function saveWeights(store: ArtifactStore, prefix: string, model: tf.LayersModel): Promise<string> {
  const named = model.getWeights().map((tensor, i) => ({ name: `w${i}`, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
  const blob = await store.putContent(prefix, bytes, '.weights.bin');
  const indexKey = `${prefix}/weights.json`;
  await store.putJson(indexKey, { format: 'tl.weights/v1', specs, data: blob.key } satisfies WeightsIndex);
  return indexKey;
}

export async function loadWeights(store: ArtifactStore, indexKey: string, model: tf.LayersModel): Promise<void> {
  const index = await store.getJson<WeightsIndex>(indexKey);
  if (index.format !== 'tl.weights/v1') throw new Error(`${indexKey}: not a tl weights checkpoint`);
  const bytes = await store.getBytes(index.data);
  const decoded = tf.io.decodeWeights(bytes.slice().buffer as ArrayBuffer, index.specs);
  const current = model.getWeights();
  if (current.length !== index.specs.length) {
    throw new Error(`${indexKey}: checkpoint has ${index.specs.length} weights, the model has ${current.length}`);
  }
  const values = index.specs.map((spec, i) => {
    const t = decoded[spec.name];
    if (t.shape.join() !== current[i].shape.join()) {
      throw new Error(`${indexKey}: weight ${i} has shape [${t.shape}], the model expects [${current[i].shape}]`);
    }
    return t;
  });
  model.setWeights(values);
  values.forEach((t) => t.dispose());
}
