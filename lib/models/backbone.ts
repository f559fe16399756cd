// Pretrained backbones for transfer learning: any tfjs Layers model (a local folder, an
// s3:// prefix, an http(s) URL) cut at a feature layer, with the input preprocessing it
// was trained with.
//
// Scaling rule (how pixels 0..255 become the model's input), first match wins:
//   1. opts.scaling, when the caller knows better;
//   2. model.json userDefinedMetadata.scaling ('minus1to1' | 'zeroTo1' | 'none');
//   3. a 28×28×1 input is a tl lab CNN (trainLabCnn feeds it x/255): 'zeroTo1';
//   4. a 3-channel input is a Keras/TF-Hub MobileNet-family model (as are both shared
//      backbones and Teachable Machine exports): 'minus1to1' (x/127.5 − 1);
//   otherwise loading fails and asks for the scaling.
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '../store/store';
import { yieldToEventLoop } from '../tf/event-loop';
import { predictBatch } from './inference';
import { foldBatchNormForInference } from './fold-batch-norm';
import { allLayers, isModel } from './layers';
import {
  ModelFormatError,
  httpModelReader,
  loadLayersModelFrom,
  localModelReader,
  s3ModelReader,
  type ModelReader,
} from '../tf/model-io';

export type Scaling = 'minus1to1' | 'zeroTo1' | 'none';
export const SCALINGS: readonly Scaling[] = ['minus1to1', 'zeroTo1', 'none'];

export interface BackboneSpec {
  source: string;
  /** Hash of model.json + weight bytes (see readModelArtifacts): the backbone's identity. */
  sha256: string;
  /** Layer the features come from (layers of nested models count too). */
  cutLayer: string;
  inputSize: [number, number];
  channels: 1 | 3;
  scaling: Scaling;
  featureDim: number;
}

export interface Backbone {
  /** Input → cut layer output, flattened to [null, featureDim]; shares weights with `full`. */
  body: tf.LayersModel;
  full: tf.LayersModel;
  spec: BackboneSpec;
  /** uint8 HWC images (a [n,h,w,c] tensor, or their bytes back to back) → float model input. */
  preprocess(images: Uint8Array | tf.Tensor, count?: number): tf.Tensor4D;
}

/** The reader for a source: `s3://bucket/prefix[/model.json]`, `http(s)://…`, `file://…` or a local path. */
export function readerForSource(source: string, store?: ArtifactStore): ModelReader {
  if (/^https?:\/\//i.test(source)) return httpModelReader(source);
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  if (s3) {
    if (!store) throw new Error(`loading ${source} needs the artifact store`);
    const [, bucket, rest] = s3;
    const trimmed = rest.replace(/\/+$/, '');
    const file = /\.json$/.test(trimmed) ? trimmed.slice(trimmed.lastIndexOf('/') + 1) : undefined;
    const prefix = file ? trimmed.slice(0, -file.length - 1) : trimmed;
    // Another bucket is read with the same client and credentials, still hash-verified.
    const bucketStore = bucket === store.bucket ? store : new ArtifactStore(store.s3, bucket);
    return s3ModelReader(bucketStore, prefix, file);
  }
  if (/^file:\/\//i.test(source)) return localModelReader(fileURLToPath(source)); // tfjs-node's spelling
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) throw new Error(`unsupported model source ${source} (use a path, s3:// or http(s)://)`);
  return localModelReader(source);
}

export async function loadBackbone(
  source: string,
  /**
   * store: needed for s3:// sources. scaling: overrides the rule at the top of this file.
   * inferenceOnly: the backbone will only ever predict (feature extraction), so its batch
   * norms are folded into the convolutions before them (lib/models/fold-batch-norm.ts).
   */
  opts: { store?: ArtifactStore; cutLayer?: string; scaling?: Scaling; inferenceOnly?: boolean },
): Promise<Backbone> {
  return loadBackboneFrom(readerForSource(source, opts.store), { ...opts, source });
}

/** loadBackbone over a reader already made; `source` is what the spec records. */
export async function loadBackboneFrom(
  reader: ModelReader,
  opts: { source: string; cutLayer?: string; scaling?: Scaling; inferenceOnly?: boolean },
): Promise<Backbone> {
  const { source } = opts;
  const { model: full, sha256 } = await loadLayersModelFrom(reader);
  const [, h, w, c] = full.inputs[0].shape;
  if (full.inputs.length !== 1 || full.inputs[0].shape.length !== 4 || !h || !w || (c !== 1 && c !== 3)) {
    throw new ModelFormatError(reader.describe, `a backbone needs one image input [null,h,w,1|3], not ${JSON.stringify(full.inputs.map((i) => i.shape))}`);
  }
  const cutLayer = opts.cutLayer ?? defaultCutLayer(full, reader.describe);
  const cut = cutTensor(full, cutLayer);
  if (!cut) throw new ModelFormatError(reader.describe, unknownLayerMessage(full, cutLayer));
  const body = tf.model({ inputs: full.inputs, outputs: flattenFeatures(cut, full), name: `${full.name}_body` });
  if (opts.inferenceOnly) foldBatchNormForInference(full);
  const spec: BackboneSpec = {
    source,
    sha256,
    cutLayer,
    inputSize: [h, w],
    channels: c,
    scaling: chooseScaling(opts.scaling, full.getUserDefinedMetadata(), [h, w, c], reader.describe),
    featureDim: body.outputs[0].shape[1] as number,
  };
  return { body, full, spec, preprocess: (images, count) => preprocessImages(spec, images, count) };
}

/** 4-D feature maps are averaged over space (what the classifier after a GAP would see); other ranks flattened. */
function flattenFeatures(t: tf.SymbolicTensor, full: tf.LayersModel): tf.SymbolicTensor {
  // A model saved by tl may already hold a layer of that name (a body used as a backbone again).
  const taken = new Set(allLayers(full).map((l) => l.name));
  const name = (base: string) => [base, ...Array.from({ length: 99 }, (_, i) => `${base}_${i + 1}`)].find((n) => !taken.has(n));
  if (t.shape.length === 4) return tf.layers.globalAveragePooling2d({ name: name('tl_features_pool') }).apply(t) as tf.SymbolicTensor;
  if (t.shape.length > 2) return tf.layers.flatten({ name: name('tl_features_flatten') }).apply(t) as tf.SymbolicTensor;
  return t;
}

function chooseScaling(override: Scaling | undefined, metadata: unknown, [h, w, c]: number[], model: string): Scaling {
  if (override) return override;
  const recorded = (metadata as { scaling?: unknown } | undefined)?.scaling;
  if (recorded !== undefined) {
    if (SCALINGS.includes(recorded as Scaling)) return recorded as Scaling;
    throw new ModelFormatError(model, `userDefinedMetadata.scaling is ${JSON.stringify(recorded)}; expected one of ${SCALINGS.join(', ')}`);
  }
  if (h === 28 && w === 28 && c === 1) return 'zeroTo1';
  if (c === 3) return 'minus1to1';
  throw new ModelFormatError(model, `cannot tell how to scale a ${h}×${w}×${c} input: record userDefinedMetadata.scaling or pass a scaling`);
}

/** What preprocessing needs to know (a BackboneSpec, or the same fields carried through a workflow). */
export interface InputSpec {
  inputSize: [number, number];
  channels: number;
  scaling: string;
  /** Set when the images were stored smaller than inputSize (`--stored-size`): they are resized up here. */
  storedSize?: [number, number];
}

/** The spec for images stored at `stored` ([h, w, …], a manifest's imageShape): storedSize set when it is not the input size. */
export function forStoredImages<S extends InputSpec>(spec: S, stored: readonly number[]): S & { storedSize?: [number, number] } {
  const same = stored[0] === spec.inputSize[0] && stored[1] === spec.inputSize[1];
  return same ? spec : { ...spec, storedSize: [stored[0], stored[1]] };
}

/**
 * Scales uint8 pixels to the backbone's input range. `images` are inputSize (or the spec's
 * storedSize, then resized bilinearly to inputSize): a [n,h,w,c] tensor, or n images' bytes back
 * to back (`count`, when given, is checked).
 */
export function preprocessImages(spec: InputSpec, images: Uint8Array | tf.Tensor, count?: number): tf.Tensor4D {
  if (spec.storedSize && (spec.storedSize[0] !== spec.inputSize[0] || spec.storedSize[1] !== spec.inputSize[1])) {
    const stored = { ...spec, inputSize: spec.storedSize, storedSize: undefined };
    return tf.tidy(() => tf.image.resizeBilinear(preprocessImages(stored, images, count), spec.inputSize, false, true));
  }
  const [h, w] = spec.inputSize;
  const c = spec.channels;
  if (!SCALINGS.includes(spec.scaling as Scaling)) throw new Error(`unknown scaling ${JSON.stringify(spec.scaling)}; expected ${SCALINGS.join(', ')}`);
  const [scale, offset] = spec.scaling === 'minus1to1' ? [1 / 127.5, -1] : spec.scaling === 'zeroTo1' ? [1 / 255, 0] : [1, 0];
  if (images instanceof Uint8Array) {
    const per = h * w * c;
    const n = images.length / per;
    if (images.length === 0 || !Number.isInteger(n) || (count !== undefined && count !== n)) {
      throw new Error(`expected ${count ?? 'n'} ${h}×${w}×${c} uint8 images back to back (${count !== undefined ? count * per : `a multiple of ${per}`} bytes), got ${images.length} bytes`);
    }
    // One pass in JS: no intermediate tensors for a large batch.
    const x = new Float32Array(images.length);
    for (let i = 0; i < images.length; i++) x[i] = images[i] * scale + offset;
    return tf.tensor4d(x, [n, h, w, c]);
  }
  const [n, ih, iw, ic] = images.shape;
  if (images.rank !== 4 || ih !== h || iw !== w || ic !== c || (count !== undefined && count !== n)) {
    throw new Error(`expected images of shape [${count ?? 'n'},${h},${w},${c}], got [${images.shape}]`);
  }
  return tf.tidy(() => tf.add(tf.mul(tf.cast(images, 'float32'), scale), offset)) as tf.Tensor4D;
}

/** Features of uint8 images in batches: [n × featureDim], row-major. `onBatch` reports progress. */
export async function extractFeatures(
  backbone: Backbone,
  images: Uint8Array,
  batchSize = 32,
  onBatch?: (done: number, total: number) => void,
  storedSize?: [number, number],
): Promise<Float32Array> {
  const [h, w] = storedSize ?? backbone.spec.inputSize;
  const per = h * w * backbone.spec.channels;
  const n = images.length / per;
  const out = new Float32Array(n * backbone.spec.featureDim);
  const prepare = storedSize ? (x: Uint8Array) => preprocessImages({ ...backbone.spec, storedSize }, x) : backbone.preprocess;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const features = tf.tidy(() => predictBatch(backbone.body, prepare(images.subarray(start * per, end * per))));
    out.set(await features.data(), start * backbone.spec.featureDim);
    features.dispose();
    onBatch?.(end, n);
    await yieldToEventLoop();
  }
  return out;
}

// ---- Finding layers in a model graph, nested models included ----

/**
 * Every symbolic tensor the outputs depend on, nearest the outputs first. A nested model
 * that was the first layer of a Sequential shares its graph with the outer model, so its
 * inner layers show up here directly; one applied to an outer tensor shows up as a single
 * tensor whose sourceLayer is that model.
 */
function reachable(outputs: tf.SymbolicTensor[]): tf.SymbolicTensor[] {
  const seen = new Set<number>();
  const order: tf.SymbolicTensor[] = [];
  let frontier = outputs;
  while (frontier.length) {
    const next: tf.SymbolicTensor[] = [];
    for (const t of frontier) {
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      order.push(t);
      next.push(...t.inputs);
    }
    frontier = next;
  }
  return order;
}

/** The tensor a layer (nested or not) outputs within `model`'s graph, if any. */
function cutTensor(model: tf.LayersModel, leaf: string): tf.SymbolicTensor | undefined {
  const tensors = reachable(model.outputs);
  const direct = tensors.find((t) => t.sourceLayer.name === leaf);
  if (direct) return direct;
  // A nested model named `leaf` that shares this graph: its output tensor is here.
  const nested = allLayers(model).find((l) => l.name === leaf && isModel(l)) as tf.LayersModel | undefined;
  if (nested && tensors.includes(nested.outputs[0])) return nested.outputs[0];
  // A nested model applied as one layer: cut inside it, then apply that part to its inputs.
  for (const t of tensors) {
    const layer = t.sourceLayer;
    if (!isModel(layer)) continue;
    const inner = cutTensor(layer, leaf);
    if (!inner) continue;
    const part = tf.model({ inputs: layer.inputs, outputs: inner, name: `${layer.name}_to_${leaf}` });
    return part.apply(t.inputs.length === 1 ? t.inputs[0] : t.inputs) as tf.SymbolicTensor;
  }
  return undefined;
}

/**
 * The last global-average-pool before the classifier (nearest the output, nested models
 * searched too); without one, the layer feeding the last Dense (e.g. the lab CNN's
 * `flatten` before `logits`).
 */
export function defaultCutLayer(model: tf.LayersModel, describe = model.name): string {
  const found = findNearOutput(model, (t) => t.sourceLayer.getClassName() === 'GlobalAveragePooling2D' ? t.sourceLayer.name : undefined)
    ?? findNearOutput(model, (t) => (t.sourceLayer.getClassName() === 'Dense' && t.inputs.length === 1 ? t.inputs[0].sourceLayer.name : undefined));
  if (!found) throw new ModelFormatError(describe, 'has no global-average-pool layer nor a Dense classifier to cut before: pass cutLayer');
  return found;
}

function findNearOutput(model: tf.LayersModel, pick: (t: tf.SymbolicTensor) => string | undefined): string | undefined {
  for (const t of reachable(model.outputs)) {
    const name = pick(t) ?? (isModel(t.sourceLayer) ? findNearOutput(t.sourceLayer, pick) : undefined);
    if (name) return name;
  }
  return undefined;
}

function unknownLayerMessage(model: tf.LayersModel, name: string): string {
  const names = [...new Set(allLayers(model).map((l) => l.name))];
  // Closest spelling first; among equals, layers nearer the output (where cuts usually are).
  const closest = names
    .map((n, i) => ({ n, i, d: editDistance(n, name) }))
    .sort((a, b) => a.d - b.d || b.i - a.i)
    .slice(0, 5)
    .map((x) => x.n);
  let fallback = '';
  try {
    fallback = `; the default is ${defaultCutLayer(model)}`;
  } catch {
    // no default either; the closest names are all we can offer
  }
  return `has no layer ${JSON.stringify(name)} to cut at (closest: ${closest.join(', ')}${fallback})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
