// Loading tfjs Layers models from anywhere a model can live: a local folder, a prefix in
// the artifact store, or an http(s) URL. Every source is a `ModelReader` that reads files
// relative to model.json's folder; the loader owns what must not differ between sources:
// weight paths confined to that folder, missing shards and size/shape mismatches reported
// as a ModelFormatError naming the model and the file or weight, and the model's hash.
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { ArtifactStore } from '../store/store';
import { BadInputError } from '../errors';

export class ModelFormatError extends BadInputError {
  constructor(model: string, problem: string) {
    super(`model ${model}: ${problem}`);
    this.name = 'ModelFormatError';
  }
}

/** Files of one model, addressed relative to the folder holding its model.json. */
export interface ModelReader {
  /** Where model.json is (path, s3:// or http URL): used in every error message. */
  describe: string;
  readJson(rel: string): Promise<unknown>;
  readBytes(rel: string): Promise<Uint8Array>;
  /** The model's JSON file within the folder; 'model.json' when absent. */
  modelJson?: string;
}

export interface ModelJson {
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/**
 * A weights path from model.json, normalised and confined to the model's folder: no
 * absolute paths, URLs, backslashes or `..` that leave it (a model.json from elsewhere
 * must not make us read, say, another run's datasets or /etc).
 */
export function confineWeightsPath(model: string, weightsPath: string): string {
  const normalised = typeof weightsPath === 'string' ? path.posix.normalize(weightsPath) : '';
  const escapes =
    weightsPath === '' ||
    normalised === '' ||
    path.posix.isAbsolute(weightsPath) ||
    /[\\\0]/.test(weightsPath) ||
    /^[a-z][a-z0-9+.-]*:/i.test(weightsPath) ||
    normalised === '.' ||
    normalised === '..' ||
    normalised.startsWith('../');
  if (escapes) throw new ModelFormatError(model, `weights path ${JSON.stringify(weightsPath)} escapes the model's folder`);
  return normalised;
}

/** Bytes per stored element (after quantization), or undefined for variable-length strings. */
function storedBytesPerElement(entry: tf.io.WeightsManifestEntry): number | undefined {
  const q = entry.quantization?.dtype;
  if (q) return q === 'uint8' ? 1 : 2; // uint8; uint16 or float16
  switch (entry.dtype) {
    case 'string':
      return undefined;
    case 'bool':
      return 1;
    case 'complex64':
      return 8;
    default:
      return 4; // float32, int32
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; code?: string; status?: number };
  return e?.name === 'NotFoundError' || e?.code === 'ENOENT' || e?.status === 404 || e?.status === 410;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Checks that a weights group's files hold exactly its weights, naming the first that does not fit. */
function checkGroupSize(model: string, group: ModelJson['weightsManifest'][number], bytes: number): void {
  let offset = 0;
  for (const w of group.weights) {
    const per = storedBytesPerElement(w);
    if (per === undefined) return; // strings carry their own lengths; tfjs checks them
    const end = offset + per * w.shape.reduce((a, b) => a * b, 1);
    if (end > bytes) {
      throw new ModelFormatError(
        model,
        `weight ${JSON.stringify(w.name)} (shape [${w.shape}], ${w.dtype}) needs bytes ${offset}..${end} of ${JSON.stringify(group.paths.join(', '))}, which hold only ${bytes} bytes (truncated or wrong shard?)`,
      );
    }
    offset = end;
  }
  if (offset !== bytes) {
    throw new ModelFormatError(model, `weights file(s) ${JSON.stringify(group.paths.join(', '))}: ${bytes} bytes, but the weights listed for them need ${offset}`);
  }
}

export interface LoadedArtifacts {
  artifacts: tf.io.ModelArtifacts;
  /**
   * SHA-256 over model.json (re-serialised with JSON.stringify, so whitespace does not
   * matter) followed by every weight file's bytes in manifest order: the same model gives
   * the same hash from a folder, S3 or http.
   */
  sha256: string;
}

/** Reads and checks model.json and its weight files. */
export async function readModelArtifacts(reader: ModelReader): Promise<LoadedArtifacts> {
  const model = reader.describe;
  const jsonName = reader.modelJson ?? 'model.json';
  let json: ModelJson;
  try {
    json = (await reader.readJson(jsonName)) as ModelJson;
  } catch (err) {
    if (isNotFound(err)) throw new ModelFormatError(model, `${jsonName} does not exist`);
    if (err instanceof SyntaxError) throw new ModelFormatError(model, `${jsonName} is not valid JSON: ${err.message}`);
    throw err;
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelFormatError(model, 'not a tfjs layers model.json (modelTopology or weightsManifest missing)');
  }
  const hash = createHash('sha256').update(JSON.stringify(json));
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  // Confine every path before reading any, so a hostile manifest causes no reads at all.
  const confined = json.weightsManifest.map((group) => {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new ModelFormatError(model, 'a weightsManifest entry lacks its paths or weights list');
    }
    return group.paths.map((p) => confineWeightsPath(model, p));
  });
  for (const [g, group] of json.weightsManifest.entries()) {
    const parts: Uint8Array[] = [];
    for (const [i, rel] of confined[g].entries()) {
      try {
        parts.push(await reader.readBytes(rel));
      } catch (err) {
        if (isNotFound(err)) {
          throw new ModelFormatError(model, `weights file ${JSON.stringify(group.paths[i])} listed in ${jsonName} does not exist (holds ${group.weights.map((w) => w.name).slice(0, 3).join(', ')}${group.weights.length > 3 ? ', …' : ''})`);
        }
        throw err;
      }
      hash.update(parts[parts.length - 1]);
    }
    const bytes = concat(parts);
    checkGroupSize(model, group, bytes.byteLength);
    weightSpecs.push(...group.weights);
    buffers.push(bytes);
  }
  const weightData = concat(buffers);
  return {
    sha256: hash.digest('hex'),
    artifacts: {
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      trainingConfig: json.trainingConfig,
      userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
      weightSpecs,
      weightData: weightData.buffer as ArrayBuffer,
    },
  };
}

/** A load-only tfjs IOHandler over any reader: `tf.loadLayersModel(modelIOFromReader(r))`. */
export function modelIOFromReader(reader: ModelReader): tf.io.IOHandler {
  return { load: async () => (await readModelArtifacts(reader)).artifacts };
}

/**
 * Loads a Layers model and its hash. tfjs reports a weight whose shape disagrees with the
 * topology without naming it, so on failure we compare the manifest with a weightless
 * copy of the topology to name the weight.
 */
export async function loadLayersModelFrom(reader: ModelReader): Promise<{ model: tf.LayersModel; sha256: string }> {
  const { artifacts, sha256 } = await readModelArtifacts(reader);
  try {
    return { model: await tf.loadLayersModel({ load: async () => artifacts }), sha256 };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ModelFormatError(reader.describe, (await describeShapeMismatch(artifacts)) ?? `tfjs cannot load it: ${why}`);
  }
}

async function describeShapeMismatch(artifacts: tf.io.ModelArtifacts): Promise<string | undefined> {
  let bare: tf.LayersModel;
  try {
    bare = await tf.loadLayersModel({ load: async () => ({ modelTopology: artifacts.modelTopology }) });
  } catch {
    return undefined; // the topology itself is bad; tfjs's message says how
  }
  try {
    const expected = new Map(bare.weights.map((w) => [w.originalName, w.shape]));
    for (const spec of artifacts.weightSpecs ?? []) {
      const shape = expected.get(spec.name);
      if (shape && !tf.util.arraysEqual(shape as number[], spec.shape)) {
        return `weight ${JSON.stringify(spec.name)} has shape [${spec.shape}] in the weights manifest but the layer expects [${shape}]`;
      }
    }
    const given = new Set((artifacts.weightSpecs ?? []).map((s) => s.name));
    const missing = [...expected.keys()].filter((n) => !given.has(n));
    if (missing.length) return `the weights manifest lacks ${missing.length} weight(s) the topology needs: ${missing.slice(0, 5).join(', ')}`;
    return undefined;
  } finally {
    bare.dispose();
  }
}

const parseJsonBytes = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString('utf8'));

/** A model in a local folder; `location` is the folder or its model JSON file (`*.json`). */
export function localModelReader(location: string): ModelReader {
  const isFile = location.endsWith('.json');
  const folder = path.resolve(isFile ? path.dirname(location) : location);
  const modelJson = isFile ? path.basename(location) : 'model.json';
  const describe = path.join(folder, modelJson);
  const readBytes = async (rel: string): Promise<Uint8Array> => {
    const file = path.resolve(folder, rel);
    // A symlink inside the folder must not lead out of it either.
    const [realFolder, realFile] = await Promise.all([fs.promises.realpath(folder), fs.promises.realpath(file)]);
    if (path.relative(realFolder, realFile).startsWith('..')) {
      throw new ModelFormatError(describe, `weights path ${JSON.stringify(rel)} escapes the model's folder (via a symlink)`);
    }
    return fs.promises.readFile(realFile);
  };
  return { describe, modelJson, readBytes, readJson: async (rel) => parseJsonBytes(await readBytes(rel)) };
}

/** A model under a prefix of the artifact store (every read is hash-verified by the store). */
export function s3ModelReader(store: ArtifactStore, prefix: string, modelJson = 'model.json'): ModelReader {
  return {
    describe: store.s3Url(`${prefix}/${modelJson}`),
    modelJson,
    readBytes: (rel) => store.getBytes(`${prefix}/${rel}`),
    // Parsed here, checked by the model loader (model.json's own format checks).
    readJson: (rel) => store.getJson(`${prefix}/${rel}`, z.unknown()),
  };
}

class HttpError extends Error {
  constructor(readonly url: string, readonly status: number) {
    super(`GET ${url}: HTTP ${status}`);
  }
}

/** A model served over http(s): `url` is its model JSON, or a folder URL ending in '/'. */
export function httpModelReader(url: string): ModelReader {
  const modelUrl = new URL(url.endsWith('/') ? `${url}model.json` : url);
  if (modelUrl.protocol !== 'http:' && modelUrl.protocol !== 'https:') throw new Error(`not an http(s) URL: ${url}`);
  const folder = modelUrl.pathname.slice(0, modelUrl.pathname.lastIndexOf('/') + 1);
  const modelJson = decodeURIComponent(modelUrl.pathname.slice(folder.length));
  const describe = modelUrl.href;
  const readBytes = async (rel: string): Promise<Uint8Array> => {
    // Encode each segment so '%2e%2e' or '?' in a name stays a file name; check anyway.
    const target = new URL(rel.split('/').map(encodeURIComponent).join('/'), modelUrl);
    if (target.origin !== modelUrl.origin || !target.pathname.startsWith(folder)) {
      throw new ModelFormatError(describe, `weights path ${JSON.stringify(rel)} escapes the model's folder`);
    }
    const res = await fetch(target, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new HttpError(target.href, res.status);
    return new Uint8Array(await res.arrayBuffer());
  };
  return { describe, modelJson, readBytes, readJson: async (rel) => parseJsonBytes(await readBytes(rel)) };
}
