// Inference-only speed-up for a frozen backbone: each convolution followed by batch
// normalisation (and a ReLU/ReLU6) becomes one fused convolution with folded weights,
//   W' = W · γ/√(σ²+ε)   b' = β + (b − μ) · γ/√(σ²+ε)
// so the normalisation and activation passes over every activation map disappear. The layers
// keep their own weights; only their inference path changes, and training mode (should anyone
// train this instance) still runs the original layers.
//
// Fine-tuning folds too, in training mode, where it is exact: the frozen layers below every
// trained one (their batch norms use the moving statistics, and no gradient passes through
// them). Each stage refolds, as it changes what is frozen.
import * as tf from '@tensorflow/tfjs';
import { isChannelsLastAxis } from '../tf/batch-norm-axis';
import { leafLayers } from './layers';

type Kwargs = { training?: boolean } & Record<string, unknown>;
type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];
type AnyLayer = tf.layers.Layer & { call: CallFn; outboundNodes: { outboundLayer: AnyLayer }[] };
type FusedActivation = 'linear' | 'relu' | 'relu6';

interface ConvLayer extends AnyLayer {
  kernel: { read(): tf.Tensor4D };
  depthwiseKernel?: { read(): tf.Tensor4D };
  bias?: { read(): tf.Tensor1D } | null;
  strides: number[];
  padding: 'same' | 'valid';
  dilationRate: number | number[];
  dataFormat: string;
  activation: { getClassName(): string };
}
interface BatchNormLayer extends AnyLayer {
  gamma?: { read(): tf.Tensor1D } | null;
  beta?: { read(): tf.Tensor1D } | null;
  movingMean: { read(): tf.Tensor1D };
  movingVariance: { read(): tf.Tensor1D };
  epsilon: number;
  axis: number | number[];
}

/** The one layer that consumes `layer`'s output, if exactly one does. */
function onlyConsumer(layer: AnyLayer): AnyLayer | undefined {
  return layer.outboundNodes.length === 1 ? layer.outboundNodes[0]!.outboundLayer : undefined;
}

/** 'relu' or 'relu6' for an activation layer tfjs-node can fuse into a convolution. */
function fusableActivation(layer: AnyLayer | undefined): FusedActivation | undefined {
  if (!layer) return undefined;
  const cls = layer.getClassName();
  if (cls === 'Activation') {
    const name = (layer as unknown as { activation: { getClassName(): string } }).activation.getClassName();
    return name === 'relu' || name === 'relu6' ? name : undefined;
  }
  if (cls === 'ReLU') {
    const max = (layer as unknown as { maxValue: number | null }).maxValue;
    return max == null ? 'relu' : max === 6 ? 'relu6' : undefined;
  }
  return undefined;
}


interface Chain {
  conv: ConvLayer;
  bn: BatchNormLayer;
  /** The activation layer fused into the convolution, if any. */
  act?: AnyLayer;
  activation: FusedActivation;
  depthwise: boolean;
}

/** Every conv → batch norm [→ ReLU/ReLU6] chain whose links have no other consumer. */
function chainsOf(layers: AnyLayer[]): Chain[] {
  const chains: Chain[] = [];
  for (const layer of layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') continue;
    const conv = layer as ConvLayer;
    const bn = onlyConsumer(conv) as BatchNormLayer | undefined;
    if (!bn || bn.getClassName() !== 'BatchNormalization') continue;
    if (conv.activation.getClassName() !== 'linear' || conv.dataFormat !== 'channelsLast') continue;
    if (!isChannelsLastAxis(bn.axis)) continue;
    const act = onlyConsumer(bn);
    const activation = fusableActivation(act) ?? 'linear';
    chains.push({ conv, bn, act: activation === 'linear' ? undefined : act, activation, depthwise: cls === 'DepthwiseConv2D' });
  }
  return chains;
}

/** Folds every conv → batch norm [→ ReLU/ReLU6] chain of `model`; returns how many were folded. */
export function foldBatchNormForInference(model: tf.LayersModel): number {
  const chains = chainsOf(leafLayers(model) as AnyLayer[]);
  for (const chain of chains) fold(chain, 'inference');
  return chains.length;
}

/**
 * Folds, in training mode as well, the chains that lie before the first trainable layer (in
 * the model's topological order nothing they compute depends on a trained weight, so no
 * gradient flows through them). Call once frozen batch norms are in inference mode, as
 * applyStage leaves them. Returns the undo that restores the layers, for the next stage.
 */
export function foldFrozenPrefix(model: tf.LayersModel): () => void {
  const layers = leafLayers(model) as AnyLayer[];
  const firstTrained = layers.findIndex((l) => l.trainable && l.weights.length > 0);
  const frozen = new Set(firstTrained < 0 ? layers : layers.slice(0, firstTrained));
  const chains = chainsOf(layers).filter((c) => frozen.has(c.conv) && frozen.has(c.bn) && (!c.act || frozen.has(c.act)));
  const undos = chains.map((chain) => fold(chain, 'always'));
  return () => undos.reverse().forEach((u) => u());
}

type WeightSource = { read(): tf.Tensor } | null | undefined;
/** A tensor's storage id: a variable's changes whenever it is assigned (setWeights, loadWeights, training). */
const storageId = (w: WeightSource) => (w ? (w.read() as unknown as { dataId: object }).dataId : null);

/** W' and b' of a chain, from its current weights. */
function foldedWeights({ conv, bn, depthwise }: Chain): { filter: tf.Tensor4D; bias: tf.Tensor1D } {
  return tf.tidy(() => {
    const variance = bn.movingVariance.read();
    const gamma = bn.gamma ? bn.gamma.read() : tf.onesLike(variance);
    const beta = bn.beta ? bn.beta.read() : tf.zerosLike(variance);
    const scale = tf.div(gamma, tf.sqrt(tf.add(variance, bn.epsilon)));
    const kernel = depthwise ? conv.depthwiseKernel!.read() : conv.kernel.read();
    // Output channel c of a depthwise conv is input channel ⌊c/m⌋, multiplier c mod m.
    const perOutput = depthwise ? tf.reshape(scale, [kernel.shape[2], kernel.shape[3]]) : scale;
    const convBias = conv.bias ? conv.bias.read() : tf.zerosLike(scale);
    return {
      filter: tf.keep(tf.mul(kernel, perOutput) as tf.Tensor4D),
      bias: tf.keep(tf.add(beta, tf.mul(tf.sub(convBias, bn.movingMean.read()), scale)) as tf.Tensor1D),
    };
  });
}

/** Replaces the chain's calls by one fused convolution (in inference only, or always); returns an undo. */
function fold(chain: Chain, when: 'inference' | 'always'): () => void {
  const { conv, bn, act, activation, depthwise } = chain;
  // Folded weights are recomputed whenever a source weight was reassigned since (a checkpoint
  // loaded after folding, or training-mode calls that moved the statistics).
  const sources: WeightSource[] = [depthwise ? conv.depthwiseKernel : conv.kernel, conv.bias, bn.gamma, bn.beta, bn.movingMean, bn.movingVariance];
  let cached: { filter: tf.Tensor4D; bias: tf.Tensor1D; ids: (object | null)[] } | null = null;
  const current = () => {
    const ids = sources.map(storageId);
    if (!cached || ids.some((id, i) => id !== cached!.ids[i])) {
      if (cached) tf.dispose([cached.filter, cached.bias]);
      cached = { ...foldedWeights(chain), ids };
    }
    return cached;
  };
  current();
  const strides = conv.strides as [number, number];
  const dilations = (Array.isArray(conv.dilationRate) ? conv.dilationRate : [conv.dilationRate, conv.dilationRate]) as [number, number];
  const folded = (kwargs: Kwargs) => when === 'always' || !kwargs?.training;
  const links = [conv, bn, ...(act ? [act] : [])];
  // What each layer ran before (its prototype's call, or an own override such as a frozen
  // batch norm's), and whether that was an own property, so undo can put it back.
  const before = links.map((l) => ({ call: l.call, own: Object.getOwnPropertyDescriptor(l, 'call') }));
  conv.call = function (inputs, kwargs) {
    if (!folded(kwargs)) return before[0].call.call(this, inputs, kwargs);
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const { filter, bias } = current();
    return depthwise
      ? tf.fused.depthwiseConv2d({ x, filter, strides, pad: conv.padding, dilations, bias, activation })
      : tf.fused.conv2d({ x, filter, strides, pad: conv.padding, dilations, bias, activation });
  };
  links.slice(1).forEach((layer, i) => {
    const original = before[i + 1].call;
    layer.call = function (this: AnyLayer, inputs, kwargs) {
      if (!folded(kwargs)) return original.call(this, inputs, kwargs);
      return Array.isArray(inputs) ? inputs[0]! : inputs;
    };
  });
  return () => {
    links.forEach((layer, i) => {
      const own = before[i].own;
      if (own) Object.defineProperty(layer, 'call', own);
      else delete (layer as Partial<AnyLayer>).call;
    });
    if (cached) tf.dispose([cached.filter, cached.bias]);
    cached = null;
  };
}
