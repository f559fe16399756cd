// Scores a stored model on a held-out split, preparing images the way the model was trained:
// a transfer model carries its preprocessing in its metadata (as `tl predict` reads it), a lab
// CNN takes pixels scaled to [0, 1] (as its evaluation feeds it).
import * as tf from '@tensorflow/tfjs';
import type { ArtifactStore } from '../store/store';
import type { SplitData, SplitRows } from '../data/dataset';
import type { PredictionMetadata } from '../../contracts';
import { classificationMetrics } from '../metrics';
import { s3ModelIO } from '../tf/s3-model-io';
import { preprocessImages } from './backbone';
import { allIndices, predictSplit, unitScale, type InputPreparer } from './inference';

export type HeldOutResult = { accuracy: number; macroF1: number } | { notComparable: string };

/** How to feed `data`'s images to `model`, or why they cannot be fed to it. */
export function inputPreparer(model: tf.LayersModel, imageShape: [number, number, number]): InputPreparer | string {
  const [h, w, c] = imageShape;
  const meta = model.getUserDefinedMetadata() as Partial<PredictionMetadata> | undefined;
  if (meta?.inputSize && meta.channels && meta.scaling) {
    // A model trained on images stored smaller (--stored-size) takes them at that size.
    const [mh, mw] = meta.storedSize ?? meta.inputSize;
    if (mh !== h || mw !== w || meta.channels !== c) return `it takes ${mh}×${mw}×${meta.channels} images, the held-out set has ${h}×${w}×${c}`;
    const spec = { inputSize: meta.inputSize, channels: meta.channels, scaling: meta.scaling, ...(meta.storedSize ? { storedSize: meta.storedSize } : {}) };
    return (images, n) => preprocessImages(spec, images, n);
  }
  const [, mh, mw, mc] = model.inputs[0].shape;
  if (mh !== h || mw !== w || mc !== c) return `it takes ${mh}×${mw}×${mc} images, the held-out set has ${h}×${w}×${c}`;
  return unitScale(imageShape);
}

/** Accuracy and macro F1 of the model at `modelKey` (…/model.json) on `data`, labelled with `classNames`. */
export async function scoreStoredModel(
  store: ArtifactStore,
  modelKey: string,
  data: SplitData | SplitRows,
  classNames: string[],
): Promise<HeldOutResult> {
  const model = await tf.loadLayersModel(s3ModelIO(store, modelKey.replace(/\/model\.json$/, '')));
  try {
    const outputs = model.outputs[0].shape.at(-1);
    if (outputs !== classNames.length) return { notComparable: `it predicts ${outputs} classes, the held-out set has ${classNames.length}` };
    const prepare = inputPreparer(model, data.imageShape);
    if (typeof prepare === 'string') return { notComparable: prepare };
    const predictions = await predictSplit(model, data, allIndices(data.count), classNames.length, prepare);
    const metrics = classificationMetrics(predictions.labels, predictions.predicted, classNames);
    return { accuracy: metrics.accuracy, macroF1: metrics.macroF1 };
  } finally {
    model.dispose();
  }
}
