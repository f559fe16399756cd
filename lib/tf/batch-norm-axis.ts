// The one BatchNormalization axis that TensorFlow's fused kernels cover: the channels of an
// NHWC (4-D, channels-last) tensor. Both the fused training path and inference folding need it.
export function isChannelsLastAxis(axis: number | number[]): boolean {
  const only = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : undefined) : axis;
  return only === -1 || only === 3;
}
