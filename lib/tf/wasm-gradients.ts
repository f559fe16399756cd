// Kernels the tfjs 'wasm' backend lacks (or has only as slow scalar loops) for training
// CNNs. Each one is built from wasm's own XNNPACK-backed kernels (Conv2D, BatchMatMul,
// Transpose, Pad, ...) called directly, or is a tight typed-array loop over the wasm heap.
// Kernels are called directly rather than through tf ops so nothing lands on the gradient
// tape and intermediates can be freed at once.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm'; // registers wasm's own kernels, which we build on
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Info = tf.TensorInfo;
type Pads = [[number, number], [number, number]]; // [[top, bottom], [left, right]]
type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type Impl = (args: Args, original?: tf.KernelFunc) => Info;

const { computeConv2DInfo, computePool2DInfo } = tf.backend_util;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs one wasm kernel directly (as the currently registered implementation). */
function run(b: BackendWasm, name: string, inputs: tf.NamedTensorInfoMap, attrs: object = {}): Info {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, backend: b, attrs: attrs as tf.NamedAttrMap }) as Info;
}

/** A view of the same data with another shape (wasm kernels take shape from the info). */
const view = (t: Info, shape: number[]): Info => ({ dataId: t.dataId, shape, dtype: t.dtype });

function free(b: BackendWasm, ...ts: (Info | null)[]) {
  for (const t of ts) if (t) b.disposeData(t.dataId);
}

/**
 * Applies spatial padding to an NHWC tensor where some amounts may be negative: negative
 * parts are cropped now (XNNPACK takes only non-negative padding); the non-negative rest is
 * returned for the convolution's explicit padding. `owned` is the cropped copy, if made.
 */
function cropForPads(b: BackendWasm, x: Info, [[t, bo], [l, r]]: Pads) {
  const [n, h, w, c] = x.shape;
  const ct = Math.max(-t, 0), cb = Math.max(-bo, 0), cl = Math.max(-l, 0), cr = Math.max(-r, 0);
  const owned = ct || cb || cl || cr
    ? run(b, 'Slice', { x }, { begin: [0, ct, cl, 0], size: [n, h - ct - cb, w - cl - cr, c] })
    : null;
  const pad = [[0, 0], [Math.max(t, 0), Math.max(bo, 0)], [Math.max(l, 0), Math.max(r, 0)], [0, 0]];
  return { x: owned ?? x, owned, pad };
}

/** Inserts s−1 zero rows/cols after each row/col of dy ([N,H,W,C] → [N,H·sh,W·sw,C]). */
function spreadByStride(b: BackendWasm, dy: Info, sh: number, sw: number): Info {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const up = run(b, 'PadV2', { x: view(dy, [n, h, 1, w, 1, c]) }, {
    paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0,
  });
  return view(up, [n, h * sh, w * sw, c]);
}

/**
 * dW[fh,fw,c,k] = Σ_{n,i,j} x[n, i·sh + fh − top, j·sw + fw − left, c] · dy[n,i,j,k]: a
 * forward (XNNPACK) convolution of xᵀ=[C,H,W,N] (C as batch, N as channels) with
 * dyᵀ=[Ho,Wo,N,K] as the filter, dilated by the stride; the result [C,Fh,Fw,K] is
 * transposed to [Fh,Fw,C,K]. (Most of its time is XNNPACK packing that dy-sized filter.)
 */
const conv2DBackpropFilter: Impl = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const { x, dy } = inputs as { x: Info; dy: Info };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter: only NHWC is supported');
  const info = computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [, h, w] = x.shape;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo, filterHeight: fh, filterWidth: fw, padInfo } = info;
  const xT = run(b, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = run(b, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  // Rows touched run from −top to (fh−1)+(ho−1)·sh−top; pad (or crop) x to exactly that.
  const bottom = fh + (ho - 1) * sh - h - padInfo.top, right = fw + (wo - 1) * sw - w - padInfo.left;
  const c = cropForPads(b, xT, [[padInfo.top, bottom], [padInfo.left, right]]);
  const out = run(b, 'Conv2D', { x: c.x, filter: dyT }, {
    strides: [1, 1], pad: c.pad, dataFormat: 'NHWC', dilations: [sh, sw],
  });
  const dW = run(b, 'Transpose', { x: out }, { perm: [1, 2, 0, 3] });
  free(b, xT, dyT, c.owned, out);
  return dW;
};

/**
 * dx[h] = Σ_f dy_up[h + top − f] · W[f], with dy_up = dy spread by the stride: a stride-1
 * convolution of dy_up, padded by (F−1−top), with the spatially flipped filter whose in/out
 * channels are swapped. wasm's own Conv2DBackpropInput is a scalar loop ~10× slower.
 */
const conv2DBackpropInput: Impl = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropInput: only NHWC is supported');
  const info = computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
  const flipped = run(b, 'Reverse', { x: filter }, { dims: [0, 1] });
  const wT = run(b, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }); // [Fh,Fw,K,C]
  const dx = backpropInputConv(b, dy, info, (x, p) => {
    if (info.inChannels > 1) return run(b, 'Conv2D', { x, filter: wT }, { strides: [1, 1], pad: p, dataFormat: 'NHWC', dilations: [1, 1] });
    // One output channel (a grayscale first layer's dx) wastes 7/8 of XNNPACK's GEMM
    // tiles: a depthwise conv, then Σ over the last axis, is ~2× faster.
    const dw = run(b, 'DepthwiseConv2dNative', { x, filter: wT }, { strides: [1, 1], pad: p, dilations: [1, 1], dataFormat: 'NHWC' });
    const sum = run(b, 'Sum', { x: dw }, { axis: 3, keepDims: true });
    free(b, dw);
    return sum;
  });
  free(b, flipped, wT);
  return dx;
};

/** Shared by the conv and depthwise input gradients: spread, pad/crop, then `conv`. */
function backpropInputConv(b: BackendWasm, dy: Info, info: tf.backend_util.Conv2DInfo, conv: (x: Info, pad: number[][]) => Info): Info {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const efh = (info.filterHeight - 1) * dh, efw = (info.filterWidth - 1) * dw; // effective size − 1
  const up = spreadByStride(b, dy, sh, sw);
  const top = efh - padInfo.top, left = efw - padInfo.left;
  const bottom = info.inHeight + efh - top - up.shape[1], right = info.inWidth + efw - left - up.shape[2];
  const c = cropForPads(b, up, [[top, bottom], [left, right]]);
  const dx = conv(c.x, c.pad);
  free(b, up === dy ? null : up, c.owned);
  return dx;
}

/** Depthwise dx: per multiplier m, a depthwise conv of dy[..., c·M+m] with the flipped W[..., m]; summed. */
const depthwiseBackpropInput: Impl = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const fShape = filter.shape as [number, number, number, number];
  const info = computeConv2DInfo(inputShape, fShape, strides, dilations, pad, dimRoundingMode, true);
  const [fh, fw, c, mult] = fShape;
  const flipped = run(b, 'Reverse', { x: filter }, { dims: [0, 1] });
  const dwConv = (x: Info, p: number[][], f: Info) => run(b, 'DepthwiseConv2dNative', { x, filter: f }, {
    strides: [1, 1], pad: p, dilations: [info.dilationHeight, info.dilationWidth], dataFormat: 'NHWC',
  });
  if (mult === 1) {
    const dx = backpropInputConv(b, dy, info, (x, p) => dwConv(x, p, flipped));
    free(b, flipped);
    return dx;
  }
  const [n, ho, wo] = dy.shape;
  const dyT = run(b, 'Transpose', { x: view(dy, [n, ho, wo, c, mult]) }, { perm: [4, 0, 1, 2, 3] });
  const fT = run(b, 'Transpose', { x: flipped }, { perm: [3, 0, 1, 2] }); // [M,Fh,Fw,C]
  let acc: Info | null = null;
  for (let m = 0; m < mult; m++) {
    const dyM = run(b, 'Slice', { x: dyT }, { begin: [m, 0, 0, 0, 0], size: [1, n, ho, wo, c] });
    const fM = run(b, 'Slice', { x: fT }, { begin: [m, 0, 0, 0], size: [1, fh, fw, c] });
    const part = backpropInputConv(b, view(dyM, [n, ho, wo, c]), info, (x, p) => dwConv(x, p, view(fM, [fh, fw, c, 1])));
    const sum: Info = acc ? run(b, 'Add', { a: acc, b: part }) : part;
    free(b, dyM, fM, acc, acc ? part : null);
    acc = sum;
  }
  free(b, flipped, dyT, fT);
  return acc as Info;
};

/**
 * Depthwise dW[fh,fw,c,m] = Σ_{n,i,j} x[n, i·s + fh·d − top, j·s + fw·d − left, c] · dy[n,i,j,c·M+m]:
 * per filter tap, a strided window of padded x times dy, reduced over all rows with a
 * ones-vector matmul, which is faster than wasm's transpose-then-Sum.
 */
const depthwiseBackpropFilter: Impl = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const { x, dy } = inputs as { x: Info; dy: Info };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode, true);
  const [n, h, w, c] = x.shape;
  const [fh, fw, , mult] = filterShape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: ho, outWidth: wo, padInfo } = info;
  const rows = n * ho * wo;
  const bottom = (fh - 1) * dh + (ho - 1) * sh + 1 - h - padInfo.top, right = (fw - 1) * dw + (wo - 1) * sw + 1 - w - padInfo.left;
  const cp = cropForPads(b, x, [[padInfo.top, bottom], [padInfo.left, right]]);
  const xp = cp.pad.some(([a, z]) => a || z) ? run(b, 'PadV2', { x: cp.x }, { paddings: cp.pad, constantValue: 0 }) : null;
  const src = xp ?? cp.x;
  const ones = filled(b, [1, rows, 1], 1);
  const taps: Info[] = [];
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const win = run(b, 'StridedSlice', { x: src }, {
        begin: [0, i * dh, j * dw, 0], end: [n, i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1, c],
        strides: [1, sh, sw, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
      });
      const prod = run(b, 'Multiply', { a: view(win, [rows, c, 1]), b: view(dy, [rows, c, mult]) });
      taps.push(sumRows(b, view(prod, [1, rows, c * mult]), ones));
      free(b, win, prod);
    }
  }
  // Concat takes its inputs as an array (as the concat op passes them).
  const dW = run(b, 'Concat', taps.map((t) => view(t, [1, c * mult])) as unknown as tf.NamedTensorInfoMap, { axis: 0 });
  free(b, cp.owned, xp, ones, ...taps);
  return view(dW, filterShape);
};

/** A new float32 tensor on the wasm heap filled with `value`. */
function filled(b: BackendWasm, shape: number[], value: number): Info {
  const t = b.makeOutput(shape, 'float32');
  (b.typedArrayFromHeap(t) as Float32Array).fill(value);
  return t;
}

/**
 * Σ over the rows of x=[1,P,C] as xᵀ·ones (wasm's blocked matmul loop). x must not be the
 * `b` operand: wasm caches XNNPACK matmul operators by b's tensor id alone, so a reshaped
 * view of the same data would reuse a stale operator; and packing a fresh b costs more
 * than this whole reduction.
 */
function sumRows(b: BackendWasm, x: Info, ones: Info): Info {
  return run(b, 'BatchMatMul', { a: x, b: ones }, { transposeA: true, transposeB: false });
}

/** Normalized reduction axes, or null unless they are exactly the leading dims 0..k−1. */
function leadingAxes(axis: number | number[], shape: number[]): number | null {
  const axes = [...tf.util.parseAxisParam(axis, shape)].sort((p, q) => p - q);
  return axes.length > 0 && axes.every((a, i) => a === i) ? axes.length : null;
}

/**
 * Sum/Mean over leading axes (bias and batch-norm gradients, batch-norm moments): one pass
 * of xᵀ·ones is ~4× faster than wasm's transpose-then-reduce.
 */
const reduceLeading = (scaleByCount: boolean): Impl => ({ inputs, backend, attrs }, original) => {
  const b = backend as BackendWasm;
  const { x } = inputs as { x: Info };
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  const k = x.dtype === 'float32' ? leadingAxes(axis, x.shape) : null;
  if (k === null) return original!({ inputs, backend, attrs: attrs! }) as Info;
  const rows = size(x.shape.slice(0, k)), rest = x.shape.slice(k);
  const ones = filled(b, [1, rows, 1], scaleByCount ? 1 / rows : 1);
  const out = sumRows(b, view(x, [1, rows, size(rest)]), ones);
  free(b, ones);
  return view(out, keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest);
};

/**
 * Tile by block copies: place x at the origin of the output, then for each axis (innermost
 * first) replicate the filled span by doubling copyWithin. wasm's Tile computes an index
 * per element and is ~100× slower (it dominated the batch-norm gradient).
 */
const tile: Impl = ({ inputs, backend, attrs }, original) => {
  const b = backend as BackendWasm;
  const { x } = inputs as { x: Info };
  const { reps } = attrs as unknown as tf.TileAttrs;
  if (x.dtype === 'string' || x.shape.length === 0) return original!({ inputs, backend, attrs: attrs! }) as Info;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = b.makeOutput(outShape, x.dtype);
  if (size(outShape) === 0) return out;
  const src = b.typedArrayFromHeap(x), dst = b.typedArrayFromHeap(out);
  const stride = outShape.map((_, i) => size(outShape.slice(i + 1)));
  // Scatter x's rows (last axis contiguous) to their places at the origin of each axis.
  const last = x.shape[rank - 1];
  forEachIndex(x.shape.slice(0, -1), (idx, row) => {
    const at = idx.reduce((s, v, i) => s + v * stride[i], 0);
    dst.set(src.subarray(row * last, (row + 1) * last), at);
  });
  for (let a = rank - 1; a >= 0; a--) {
    if (reps[a] === 1) continue;
    const filledLen = x.shape[a] * stride[a], total = outShape[a] * stride[a];
    forEachIndex(x.shape.slice(0, a), (idx) => {
      const base = idx.reduce((s, v, i) => s + v * stride[i], 0);
      for (let have = filledLen; have < total; have *= 2) {
        dst.copyWithin(base + have, base, base + Math.min(have, total - have));
      }
    });
  }
  return out;
};

/** Calls fn for every index of `shape` in row-major order, with its flat position. */
function forEachIndex(shape: number[], fn: (idx: number[], flat: number) => void) {
  const idx = shape.map(() => 0);
  const count = size(shape);
  for (let flat = 0; flat < count; flat++) {
    fn(idx, flat);
    for (let i = shape.length - 1; i >= 0 && ++idx[i] === shape[i]; i--) idx[i] = 0;
  }
}

/**
 * MaxPoolGrad as one pass over the windows: each dy goes to the first maximum of its window
 * (same tie rule as the cpu backend). wasm's own kernel is ~3× slower.
 */
const maxPoolGrad: Impl = ({ inputs, backend, attrs }, original) => {
  const b = backend as BackendWasm;
  const { dy, input } = inputs as { dy: Info; input: Info };
  if (input.dtype !== 'float32') return original!({ inputs, backend, attrs: attrs! }) as Info;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const p = computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = p;
  const fh = p.effectiveFilterHeight, fw = p.effectiveFilterWidth, top = p.padInfo.top, left = p.padInfo.left;
  const out = b.makeOutput(input.shape, 'float32');
  const X = b.typedArrayFromHeap(input) as Float32Array, DY = b.typedArrayFromHeap(dy) as Float32Array;
  const DX = b.typedArrayFromHeap(out) as Float32Array;
  DX.fill(0);
  for (let bi = 0; bi < n; bi++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = oy * sh - top, yS = Math.max(0, y0), yE = Math.min(h, y0 + fh);
      for (let ox = 0; ox < wo; ox++) {
        const x0 = ox * sw - left, xS = Math.max(0, x0), xE = Math.min(w, x0 + fw);
        const o = ((bi * ho + oy) * wo + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity, pos = -1;
          for (let y = yS; y < yE; y++) {
            for (let x = xS, at = ((bi * h + y) * w + xS) * c + ch; x < xE; x++, at += c) {
              if (X[at] > best) { best = X[at]; pos = at; }
            }
          }
          if (pos >= 0) DX[pos] += DY[o + ch];
        }
      }
    }
  }
  return out;
};

/**
 * Identity by sharing the data (as the cpu backend does) instead of copying it: the engine
 * clones every tensor it saves for backprop, ~8% of a wasm training step. Safe because
 * tensor data is immutable and wasm's dataIds are reference-counted (Reshape shares too).
 */
const identity: Impl = ({ inputs, backend, attrs }, original) => {
  const { x } = inputs as { x: Info };
  if (x.dtype === 'string') return original!({ inputs, backend, attrs: attrs ?? {} }) as Info;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Kernels wasm lacks, then wasm kernels we replace with faster ones (originals kept as fallback). */
const KERNELS: Record<string, Impl> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  Conv2DBackpropInput: conv2DBackpropInput,
  MaxPoolGrad: maxPoolGrad,
  Tile: tile,
  Sum: reduceLeading(false),
  Mean: reduceLeading(true),
  Identity: identity,
};

const installed = new Map<string, tf.KernelFunc>();

/**
 * Registers the kernels above for 'wasm' and returns their names. Idempotent. A replaced
 * wasm kernel keeps its setupFunc (so it still initializes if the backend starts later)
 * and stays reachable as the fallback for cases the fast path does not cover.
 */
export function registerWasmGradientKernels(): string[] {
  for (const [name, impl] of Object.entries(KERNELS)) {
    const current = tf.getKernel(name, 'wasm');
    if (current && current.kernelFunc === installed.get(name)) continue;
    const original = current?.kernelFunc;
    const kernelFunc = ((args: Args) => impl(args, original)) as unknown as tf.KernelFunc;
    if (current) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc, setupFunc: current?.setupFunc });
    installed.set(name, kernelFunc);
  }
  return Object.keys(KERNELS);
}
