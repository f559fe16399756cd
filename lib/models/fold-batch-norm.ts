// Inference-only speed-up for a frozen backbone: each convolution followed by batch
// normalisation (and a ReLU/ReLU6) becomes one fused convolution with folded weights,
//   W' = W · γ/√(σ²+ε)   b' = β + (b − μ) · γ/√(σ²+ε)
// so the normalisation and activation passes over every activation map disappear. The layers
// keep their own weights; only their inference path changes, and training mode (should anyone
// train this instance) still runs the original layers.
import * as tf from '@tensorflow/tfjs';
import { isChannelsLastAxis } from '../tf/batch-norm-axis';

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

function allLayers(model: tf.LayersModel): AnyLayer[] {
  return model.layers.flatMap((l) => (l instanceof tf.LayersModel ? allLayers(l) : [l as AnyLayer]));
}

/** Folds every conv → batch norm [→ ReLU/ReLU6] chain of `model`; returns how many were folded. */
export function foldBatchNormForInference(model: tf.LayersModel): number {
  let folded = 0;
  for (const layer of allLayers(model)) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') continue;
    const conv = layer as ConvLayer;
    const bn = onlyConsumer(conv) as BatchNormLayer | undefined;
    if (!bn || bn.getClassName() !== 'BatchNormalization') continue;
    if (conv.activation.getClassName() !== 'linear' || conv.dataFormat !== 'channelsLast') continue;
    if (!isChannelsLastAxis(bn.axis)) continue;
    const act = onlyConsumer(bn);
    const activation = fusableActivation(act) ?? 'linear';
    fold(conv, bn, activation === 'linear' ? undefined : act, activation, cls === 'DepthwiseConv2D');
    folded++;
  }
  return folded;
}

function fold(conv: ConvLayer, bn: BatchNormLayer, act: AnyLayer | undefined, activation: FusedActivation, depthwise: boolean): void {
  const { filter, bias } = tf.tidy(() => {
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
  const strides = conv.strides as [number, number];
  const dilations = (Array.isArray(conv.dilationRate) ? conv.dilationRate : [conv.dilationRate, conv.dilationRate]) as [number, number];
  const [convCall, bnCall, actCall] = [conv.call, bn.call, act?.call];
  conv.call = function (inputs, kwargs) {
    if (kwargs?.training) return convCall.call(this, inputs, kwargs);
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return depthwise
      ? tf.fused.depthwiseConv2d({ x, filter, strides, pad: conv.padding, dilations, bias, activation })
      : tf.fused.conv2d({ x, filter, strides, pad: conv.padding, dilations, bias, activation });
  };
  const passThrough = (original: CallFn): CallFn =>
    function (this: AnyLayer, inputs, kwargs) {
      if (kwargs?.training) return original.call(this, inputs, kwargs);
      return Array.isArray(inputs) ? inputs[0]! : inputs;
    };
  bn.call = passThrough(bnCall);
  if (act && actCall) act.call = passThrough(actCall);
}
