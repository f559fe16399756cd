// A tfjs IOHandler that saves models to and loads them from the artifact store.
// Layout under a prefix: `<sha256>.weights.bin` (content-addressed) and `model.json`,
// written last, so a reader that finds model.json always finds complete weights.
import * as tf from '@tensorflow/tfjs';
import * as path from 'node:path';
import type { ArtifactStore } from '../store';

export class ModelFormatError extends Error {
  constructor(key: string, problem: string) {
    super(`model ${key}: ${problem}`);
    this.name = 'ModelFormatError';
  }
}

interface ModelJson {
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

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
  const resolved = path.posix.normalize(path.posix.join(prefix, weightsPath));
  if (!resolved.startsWith(`${prefix}/`) || path.posix.isAbsolute(weightsPath)) {
    throw new ModelFormatError(`${prefix}/model.json`, `weights path ${JSON.stringify(weightsPath)} escapes the model's folder`);
  }
  return resolved;
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

    async load(): Promise<tf.io.ModelArtifacts> {
      const json = await store.getJson<ModelJson>(modelKey);
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new ModelFormatError(modelKey, 'not a tfjs layers model.json (modelTopology or weightsManifest missing)');
      }
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) buffers.push(await store.getBytes(resolveWeightsPath(prefix, p)));
      }
      const weightData = concatWeightData(buffers.map((b) => b.slice().buffer as ArrayBuffer));
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata as {},
        weightSpecs,
        weightData: weightData.buffer as ArrayBuffer,
      };
    },
  };
}
