// Faster training on the native TensorFlow backend (tfjs-node). tfjs builds several hot ops of
// a training step from many small element-wise passes over large activation tensors: ReLU and
// ReLU6 gradients, batch normalisation in training mode, the max-pool gradient, and a fused
// convolution that computes gradients nobody asked for. TensorFlow has a single kernel for each,
// which tfjs-node can run directly. Profiled on the lab CNN at batch 256, these were over half of
// a training step. Every replacement checks the backend when called: others keep tfjs's code.
import * as tf from '@tensorflow/tfjs';
import { isChannelsLastAxis } from './batch-norm-axis';

const BACKEND = 'tensorflow';

/** The parts of tfjs-node's backend that run a TensorFlow op by name. */
interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}
interface NativeBackend {
  binding: Record<string, number>;
  executeSingleOutput(op: string, attrs: OpAttr[], inputs: tf.TensorInfo[]): tf.TensorInfo;
  executeMultipleOutputs(op: string, attrs: OpAttr[], inputs: tf.TensorInfo[], outputs: number): tf.TensorInfo[];
  disposeData(dataId: object): boolean;
}

const RELU_GRAD = 'TlReluGrad';
const RELU6_GRAD = 'TlRelu6Grad';
const MAX_POOL_GRAD_2X2 = 'TlMaxPoolGrad2x2';
const BATCH_NORM_TRAIN = 'TlFusedBatchNormTrain';
const BATCH_NORM_TRAIN_GRAD = 'TlFusedBatchNormTrainGrad';

let registered = false;

/** Registers the kernels and gradients; call once the tensorflow backend is active. */
export function registerNativeKernels(): void {
  if (registered) return;
  registered = true;
  const floatType = (b: NativeBackend, name: string): OpAttr => ({ name, type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT });

  for (const [kernelName, op] of [[RELU_GRAD, 'ReluGrad'], [RELU6_GRAD, 'Relu6Grad']] as const) {
    tf.registerKernel({
      kernelName,
      backendName: BACKEND,
      kernelFunc: ({ inputs, backend }) => {
        const b = backend as unknown as NativeBackend;
        const { dy, x } = inputs as Record<string, tf.TensorInfo>;
        return b.executeSingleOutput(op, [floatType(b, 'T')], [dy, x]);
      },
    });
  }
  overrideGradient('Relu', RELU_GRAD);
  overrideGradient('Relu6', RELU6_GRAD);
  // x and dy per window, broadcast against y: dx = x == max ? dy : 0, without a float mask.
  tf.registerKernel({
    kernelName: MAX_POOL_GRAD_2X2,
    backendName: BACKEND,
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NativeBackend;
      const { x, y, dy } = inputs as Record<string, tf.TensorInfo>;
      const isMax = b.executeSingleOutput('Equal', [floatType(b, 'T'), { name: 'incompatible_shape_error', type: b.binding.TF_ATTR_BOOL, value: true }], [x, y]);
      const zero = tf.scalar(0, 'float32');
      try {
        return b.executeSingleOutput('SelectV2', [floatType(b, 'T')], [isMax, dy, zero]);
      } finally {
        zero.dispose();
        b.disposeData(isMax.dataId);
      }
    },
  });
  overrideMaxPoolGradient();
  unfuseConvolutionsWhileTraining();
  useRelu6KernelInLayers();

  const batchNormAttrs = (b: NativeBackend, epsilon: number): OpAttr[] => [
    floatType(b, 'T'),
    floatType(b, 'U'),
    { name: 'epsilon', type: b.binding.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: b.binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.binding.TF_ATTR_BOOL, value: true },
  ];
  // The forward op alone has it: 1 = this batch's statistics, no running average.
  const averageFactor = (b: NativeBackend): OpAttr => ({ name: 'exponential_avg_factor', type: b.binding.TF_ATTR_FLOAT, value: 1 });
  // Outputs: y, batch mean, batch variance (unbiased), and three reserve spaces for the gradient.
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN,
    backendName: BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as NativeBackend;
      const none = tf.tensor1d([], 'float32');
      try {
        const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
        return b.executeMultipleOutputs('FusedBatchNormV3', [...batchNormAttrs(b, attrs!.epsilon as number), averageFactor(b)], [x, scale, offset, none, none], 6);
      } finally {
        none.dispose();
      }
    },
  });
  // Outputs: dx, dscale, doffset (and two unused ones).
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_GRAD,
    backendName: BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as NativeBackend;
      const { dy, x, scale, reserve1, reserve2, reserve3 } = inputs as Record<string, tf.TensorInfo>;
      return b.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(b, attrs!.epsilon as number), [dy, x, scale, reserve1, reserve2, reserve3], 5);
    },
  });
  patchBatchNormalizationTraining();
}

/** Replaces a unary activation's gradient by a native kernel taking (dy, x), on this backend only. */
function overrideGradient(kernelName: string, gradKernel: string): void {
  const original = tf.getGradient(kernelName);
  if (!original) throw new Error(`tfjs has no gradient registered for ${kernelName}`);
  tf.registerGradient({
    ...original,
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      if (tf.getBackend() !== BACKEND) return original.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return { x: () => tf.engine().runKernel(gradKernel, { dy: dy as tf.Tensor, x }) as tf.Tensor };
    },
  });
}

/**
 * TensorFlow's MaxPoolGrad kernel re-scans every window on the CPU and was the costliest op of
 * the lab CNN's backward pass. For the common non-overlapping 2×2 pooling, two broadcast ops
 * do the same job in a third of the time: dx = dy where x equals its window's max, else 0. The one
 * difference is a window whose maximum occurs twice, where every copy gets the gradient (TF
 * picks one). Behind a ReLU such ties are zeros, whose gradient the ReLU then discards.
 */
function overrideMaxPoolGradient(): void {
  const original = tf.getGradient('MaxPool');
  if (!original) throw new Error('tfjs has no gradient registered for MaxPool');
  const pair = (v: unknown) => (Array.isArray(v) ? v : [v, v]) as number[];
  tf.registerGradient({
    ...original,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, y] = saved;
      const [fh, fw] = pair(attrs.filterSize);
      const [sh, sw] = pair(attrs.strides);
      const [, h, w, c] = x.shape;
      const simple = fh === 2 && fw === 2 && sh === 2 && sw === 2 && attrs.pad === 'valid' && h! % 2 === 0 && w! % 2 === 0 && x.rank === 4;
      if (tf.getBackend() !== BACKEND || !simple) return original.gradFunc(dy, saved, attrs);
      return {
        x: () => tf.tidy(() => {
          const windows = [x.shape[0], h! / 2, 2, w! / 2, 2, c!];
          const perWindow = [x.shape[0], h! / 2, 1, w! / 2, 1, c!];
          const dx = tf.engine().runKernel(MAX_POOL_GRAD_2X2, { x: tf.reshape(x, windows), y: tf.reshape(y, perWindow), dy: tf.reshape(dy as tf.Tensor, perWindow) });
          return tf.reshape(dx as tf.Tensor, x.shape);
        }),
      };
    },
  });
}

/**
 * tfjs's fused convolution (conv + bias) computes the gradient of all its inputs eagerly, so
 * a network's first layer pays for the gradient of the input images, which nothing uses (for
 * the lab CNN's 28×28×1 input, TensorFlow's slowest convolution of the step). While gradients
 * are being recorded, a plain conv2d + add is used instead: tfjs then asks only for the
 * gradients on the path to the trained weights. Inference keeps the fused kernel.
 */
function unfuseConvolutionsWhileTraining(): void {
  const fused = tf.fused as { conv2d: typeof tf.fused.conv2d };
  const original = fused.conv2d;
  fused.conv2d = (args) => {
    const linear = args.activation === undefined || args.activation === 'linear';
    const recording = (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
    if (tf.getBackend() !== BACKEND || !linear || !recording || args.dataFormat === 'NCHW') return original(args);
    const y = tf.conv2d(args.x, args.filter, args.strides, args.pad, 'NHWC', args.dilations, args.dimRoundingMode);
    return args.bias == null ? y : tf.add(y, args.bias);
  };
}

/**
 * tfjs-layers computes its 'relu6' activation (MobileNet's) as minimum(6, relu(x)): two passes
 * forward and a composite gradient for the minimum. TensorFlow's Relu6 kernel is one pass,
 * and its gradient one more (registered above). Same values, and the same derivative at 6 (0).
 */
function useRelu6KernelInLayers(): void {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap['relu6'];
  if (!entry) throw new Error("tfjs-layers has no 'relu6' activation registered");
  const proto = (entry[0] as unknown as { prototype: { apply(x: tf.Tensor): tf.Tensor } }).prototype;
  const original = proto.apply;
  proto.apply = function (x: tf.Tensor) {
    return tf.getBackend() === BACKEND ? tf.relu6(x) : original.call(this, x);
  };
}

export interface BatchStatistics {
  y: tf.Tensor4D;
  mean: tf.Tensor1D;
  /** Biased (population) variance, as tf.moments gives and tfjs-layers averages. */
  variance: tf.Tensor1D;
}

/** Batch normalisation in training mode (statistics of this batch, NHWC) with TensorFlow's fused kernels. */
export function fusedBatchNormTraining(x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): BatchStatistics {
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const normalize = tf.customGrad(((xIn: tf.Tensor, scaleIn: tf.Tensor, offsetIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, unbiased, r1, r2, r3] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xIn, scale: scaleIn, offset: offsetIn }, { epsilon }) as tf.Tensor[];
    const n = xIn.size / xIn.shape[3]!;
    // Kept past customGrad's scope for the caller's moving averages.
    stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(tf.mul(unbiased, (n - 1) / n) as tf.Tensor1D) };
    save([xIn, scaleIn, r1, r2, r3]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, sc, reserve1, reserve2, reserve3] = saved;
        const [dx, dScale, dOffset, ...unused] = tf.engine().runKernel(
          BATCH_NORM_TRAIN_GRAD,
          { dy, x: xs, scale: sc, reserve1, reserve2, reserve3 },
          { epsilon },
        ) as tf.Tensor[];
        tf.dispose(unused);
        return [dx, dScale, dOffset];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = normalize(x, scale, offset) as tf.Tensor4D;
  return { y, mean: stats!.mean, variance: stats!.variance };
}

interface BatchNormLayer {
  axis: number | number[];
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor1D };
  beta: { read(): tf.Tensor1D };
  movingMean: { read(): tf.Tensor1D; write(v: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor1D; write(v: tf.Tensor): void };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor;
}

/**
 * tfjs-layers builds BatchNormalization's training path from tf.moments and an unfused
 * normalisation, in a module-private function; the layer's call() is the only place to
 * reach it. On this backend, channels-last 4-D inputs in training mode take the fused path;
 * the moving averages are updated exactly as tfjs-layers does (biased variance, momentum).
 */
function patchBatchNormalizationTraining(): void {
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as BatchNormLayer;
  const original = proto.call;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs?.training || tf.getBackend() !== BACKEND || x?.rank !== 4 || x.dtype !== 'float32' || !isChannelsLastAxis(this.axis) || !this.center || !this.scale) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = fusedBatchNormTraining(x as tf.Tensor4D, this.gamma.read(), this.beta.read(), this.epsilon);
      for (const [moving, batch] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
        const current = moving.read();
        moving.write(tf.sub(current, tf.mul(tf.sub(current, batch), 1 - this.momentum)));
      }
      tf.dispose([mean, variance]);
      return y;
    });
  };
}
