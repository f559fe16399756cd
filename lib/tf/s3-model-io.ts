// A tfjs IOHandler that saves models to and loads them from the artifact store.
// Layout under a prefix: `<sha256>.weights.bin` (content-addressed) and `model.json`,
// written last, so a reader that finds model.json always finds complete weights.
// Loading goes through the source-independent loader in model-io.ts (path confinement,
// size checks, errors naming the model and file).
import * as tf from '@tensorflow/tfjs';
import * as path from 'node:path';
import type { ArtifactStore } from '../store/store';
import { ModelFormatError, confineWeightsPath, modelIOFromReader, s3ModelReader, type ModelJson } from './model-io';

export { ModelFormatError };

function concatWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out;
}

/** Resolves a weights path against model.json's folder, refusing paths that escape it. */
export function resolveWeightsPath(prefix: string, weightsPath: string): string {
  return `${prefix}/${confineWeightsPath(`${prefix}/model.json`, weightsPath)}`;
}

export function s3ModelIO(store: ArtifactStore, prefix: string): tf.io.IOHandler {
  const modelKey = `${prefix}/model.json`;
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new ModelFormatError(modelKey, 'binary model topologies are not supported');
      }
      const weights = await store.putContent(prefix, concatWeightData(artifacts.weightData), '.weights.bin');
      const json: ModelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        trainingConfig: artifacts.trainingConfig,
        userDefinedMetadata: artifacts.userDefinedMetadata as Record<string, unknown> | undefined,
        weightsManifest: [{ paths: [path.posix.basename(weights.key)], weights: artifacts.weightSpecs ?? [] }],
      };
      await store.putJson(modelKey, json);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    load: modelIOFromReader(s3ModelReader(store, prefix)).load,
  };
}
