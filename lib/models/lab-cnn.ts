// The course-lab CNN for 28×28×1 images, and its layer table computed with the lab's formulas.
import * as tf from '@tensorflow/tfjs';
import type { LayerRow } from '../report/lab-cnn';
import { DEFAULT_LAB_CNN_INIT, type LabCnnInit } from '../../contracts/lab-cnn';

/** W_out = (W − F + 2P)/S + 1 for a convolution. */
export function convOutputSize(w: number, f: number, s: number, p: number): number {
  const out = (w - f + 2 * p) / s + 1;
  if (!Number.isInteger(out) || out < 1) throw new Error(`conv F=${f} S=${s} P=${p} does not tile an input of width ${w}`);
  return out;
}

/** W_out = (W − F)/S + 1 for pooling. */
export function poolOutputSize(w: number, f: number, s: number): number {
  const out = (w - f) / s + 1;
  if (!Number.isInteger(out) || out < 1) throw new Error(`pool F=${f} S=${s} does not tile an input of width ${w}`);
  return out;
}

type LayerSpec =
  | { kind: 'conv'; name: string; filters: number; f: number; s: number; p: number }
  | { kind: 'batchnorm'; name: string }
  | { kind: 'relu'; name: string }
  | { kind: 'pool'; name: string; f: number; s: number }
  | { kind: 'flatten'; name: string }
  | { kind: 'dense'; name: string; units: number };

/** The lab's design card, one entry per layer. */
export const LAB_CNN_SPEC: readonly LayerSpec[] = [
  { kind: 'conv', name: 'conv1', filters: 16, f: 5, s: 1, p: 2 },
  { kind: 'batchnorm', name: 'bn1' },
  { kind: 'relu', name: 'relu1' },
  { kind: 'pool', name: 'pool1', f: 2, s: 2 },
  { kind: 'conv', name: 'conv2', filters: 32, f: 5, s: 1, p: 2 },
  { kind: 'batchnorm', name: 'bn2' },
  { kind: 'relu', name: 'relu2' },
  { kind: 'pool', name: 'pool2', f: 2, s: 2 },
  { kind: 'flatten', name: 'flatten' },
  { kind: 'dense', name: 'logits', units: 10 },
];

export const LAB_INPUT_SHAPE: [number, number, number] = [28, 28, 1];

/** A row of the lab's layer table, plus the output shape as numbers for checking. */
export interface LayerTableRow extends LayerRow {
  outputShape: number[];
}

const fmt = (shape: number[]) => shape.join('×');

/** The lab's layer table (input, F, S, P, output), computed from the formulas, not from tfjs. */
export function labLayerTable(spec: readonly LayerSpec[] = LAB_CNN_SPEC, input = LAB_INPUT_SHAPE): LayerTableRow[] {
  let shape: number[] = [...input];
  const rows: LayerTableRow[] = [];
  for (const layer of spec) {
    const inShape = shape;
    let F: number | null = null;
    let S: number | null = null;
    let P: number | null = null;
    let params = 0;
    switch (layer.kind) {
      case 'conv': {
        ({ f: F, s: S, p: P } = layer);
        const [h, w, c] = inShape;
        shape = [convOutputSize(h, layer.f, layer.s, layer.p), convOutputSize(w, layer.f, layer.s, layer.p), layer.filters];
        params = layer.f * layer.f * c * layer.filters + layer.filters;
        break;
      }
      case 'batchnorm':
        params = 4 * inShape[inShape.length - 1]; // gamma, beta, moving mean, moving variance
        break;
      case 'relu':
        break;
      case 'pool': {
        ({ f: F, s: S } = layer);
        P = 0;
        const [h, w, c] = inShape;
        shape = [poolOutputSize(h, layer.f, layer.s), poolOutputSize(w, layer.f, layer.s), c];
        break;
      }
      case 'flatten':
        shape = [inShape.reduce((a, b) => a * b, 1)];
        break;
      case 'dense':
        params = inShape[0] * layer.units + layer.units;
        shape = [layer.units];
        break;
    }
    rows.push({ layer: layer.name, input: fmt(inShape), F, S, P, output: fmt(shape), outputShape: shape, params });
  }
  return rows;
}

export function formatLayerTable(rows: LayerTableRow[]): string {
  const header = ['layer', 'input', 'F', 'S', 'P', 'output', 'params'];
  const cells = rows.map((r) => [r.layer, r.input, r.F ?? '', r.S ?? '', r.P ?? '', r.output, r.params].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/**
 * Builds the lab CNN. tfjs has no explicit padding for conv2d, so P=2 with F=5, S=1 is
 * expressed as 'same' padding; the shape check below proves they agree.
 */
export function buildLabCnn(seed: number, numClasses = 10, init: LabCnnInit = DEFAULT_LAB_CNN_INIT): tf.LayersModel {
  const model = tf.sequential({ name: 'lab_cnn' });
  let layerSeed = seed;
  const nextSeed = () => (layerSeed = (layerSeed * 1103515245 + 12345) % 2147483648);
  // Uniform ±√(3·scale/fan-in) with scale 1/3 is ±1/√fan-in.
  const fanInUniform = () => tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: nextSeed() });
  let first = true;
  for (const layer of LAB_CNN_SPEC) {
    const inputShape = first ? { inputShape: LAB_INPUT_SHAPE } : {};
    first = false;
    switch (layer.kind) {
      case 'conv':
        model.add(
          tf.layers.conv2d({
            ...inputShape,
            name: layer.name,
            filters: layer.filters,
            kernelSize: layer.f,
            strides: layer.s,
            padding: layer.p === (layer.f - 1) / 2 ? 'same' : 'valid',
            kernelInitializer: init === 'fan-in-uniform' ? fanInUniform() : tf.initializers.heNormal({ seed: nextSeed() }),
          }),
        );
        break;
      case 'batchnorm':
        model.add(tf.layers.batchNormalization({ name: layer.name }));
        break;
      case 'relu':
        model.add(tf.layers.reLU({ name: layer.name }));
        break;
      case 'pool':
        model.add(tf.layers.maxPooling2d({ name: layer.name, poolSize: layer.f, strides: layer.s }));
        break;
      case 'flatten':
        model.add(tf.layers.flatten({ name: layer.name }));
        break;
      case 'dense':
        model.add(
          tf.layers.dense({
            name: layer.name,
            units: numClasses,
            activation: 'softmax',
            kernelInitializer: init === 'fan-in-uniform' ? fanInUniform() : tf.initializers.glorotUniform({ seed: nextSeed() }),
          }),
        );
        break;
    }
  }
  return model;
}

/** Compares the formula table with the shapes tfjs reports; returns the mismatches (empty when they agree). */
export function checkLayerTable(model: tf.LayersModel, rows: LayerTableRow[] = labLayerTable()): string[] {
  const problems: string[] = [];
  for (const row of rows) {
    const layer = model.getLayer(row.layer);
    const reported = (layer.outputShape as (number | null)[]).slice(1);
    if (fmt(reported as number[]) !== row.output) {
      problems.push(`${row.layer}: formula gives ${row.output}, tfjs reports ${fmt(reported as number[])}`);
    }
    if (layer.countParams() !== row.params) {
      problems.push(`${row.layer}: formula gives ${row.params} parameters, tfjs reports ${layer.countParams()}`);
    }
  }
  return problems;
}
