// Checkpoints of a model's weights by position (model.getWeights() order, which includes
// batch-norm moving statistics). Names are not used: tfjs renames variables when the same
// architecture is built twice in one process, but their order never changes.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { ArtifactStore } from '../store/store';
import { disposeOptimizerCopies } from '../tf/dispose-model';

const weightSpecsSchema = z.array(
  z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']) }).loose(),
) as unknown as z.ZodType<tf.io.WeightsManifestEntry[]>;

const weightsIndexSchema: z.ZodType<WeightsIndex> = z
  .object({
    format: z.literal('tl.weights/v1'),
    specs: weightSpecsSchema,
    data: z.string(),
    optimizer: z.object({ specs: weightSpecsSchema, data: z.string() }).optional(),
  })
  .describe('tl weights checkpoint (tl.weights/v1)');

interface WeightsIndex {
  format: 'tl.weights/v1';
  specs: tf.io.WeightsManifestEntry[];
  data: string; // key of the concatenated weight bytes
  /**
   * The optimizer's state (Adam: step count and moment estimates), so a resumed run continues
   * where it stopped instead of restarting its moments. Also by position: tfjs optimizers match
   * their slots to the trainable variables in order.
   */
  optimizer?: { specs: tf.io.WeightsManifestEntry[]; data: string };
}

async function putTensors(store: ArtifactStore, prefix: string, named: { name: string; tensor: tf.Tensor }[]): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: string }> {
  const { data, specs } = await tf.io.encodeWeights(named);
  const blob = await store.putContent(prefix, new Uint8Array(tf.io.CompositeArrayBuffer.join(data)), '.weights.bin');
  return { specs, data: blob.key };
}

export async function saveWeights(store: ArtifactStore, prefix: string, model: tf.LayersModel): Promise<string> {
  const weights = await putTensors(store, prefix, model.getWeights().map((tensor, i) => ({ name: `w${i}`, tensor })));
  const optimizerState = model.optimizer ? await model.optimizer.getWeights() : [];
  const optimizer = optimizerState.length ? await putTensors(store, prefix, optimizerState).finally(() => disposeOptimizerCopies(optimizerState)) : undefined;
  const indexKey = `${prefix}/weights.json`;
  await store.putJson(indexKey, { format: 'tl.weights/v1', ...weights, ...(optimizer ? { optimizer } : {}) } satisfies WeightsIndex);
  return indexKey;
}

export async function loadWeights(store: ArtifactStore, indexKey: string, model: tf.LayersModel): Promise<void> {
  const index = await store.getJson(indexKey, weightsIndexSchema);
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
  if (index.optimizer && model.optimizer) {
    const bytes = await store.getBytes(index.optimizer.data);
    const state = tf.io.decodeWeights(bytes.slice().buffer as ArrayBuffer, index.optimizer.specs);
    // setWeights takes its own copies (the first entry is the step count).
    await model.optimizer.setWeights(index.optimizer.specs.map((spec) => ({ name: spec.name, tensor: state[spec.name] })));
    Object.values(state).forEach((t) => t.dispose());
  }
}
