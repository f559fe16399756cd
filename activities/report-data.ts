// What the evaluate activities gather for a report besides metrics: the worker's environment
// and small PNG thumbnails of misclassified images (made here, embedded by lib/report*).
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { asSplitRows, type SplitData, type SplitRows } from '../lib/data/dataset';
import type { SplitPredictions } from '../lib/models/inference';

/** Report rows about the machine that evaluated: backend, library versions, cores. */
export function workerEnvironment(backend: string): Record<string, string | number> {
  return {
    backend,
    tfjs: tf.version.tfjs,
    node: process.version,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    platform: `${process.platform}-${process.arch}`,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
  };
}

/** Longest side of a thumbnail; small pixel images are scaled up by whole factors to stay sharp. */
const THUMB_PX = 96;

/**
 * PNG data URLs of the given images of a split, keyed by name. Palette PNGs keep a photo
 * thumbnail near 5–10 kB, so two dozen of them stay well under a megabyte. Only the picked
 * rows are read: of a streamed split, just the shards that hold them.
 */
export async function thumbnails(data: SplitData | SplitRows, picks: { index: number; name: string }[]): Promise<Record<string, string>> {
  const rows = asSplitRows(data);
  const [h, w, c] = rows.imageShape;
  const pixels = h * w * c;
  const scale = Math.max(1, Math.floor(THUMB_PX / Math.max(h, w)));
  // One image per name: the first pick of each.
  const first = new Map<string, number>();
  for (const { index, name } of picks) if (!first.has(name) && index >= 0 && index < rows.count) first.set(name, index);
  const { images } = await rows.gather([...first.values()]);
  const out: Record<string, string> = {};
  for (const [i, name] of [...first.keys()].entries()) {
    const raw = Buffer.from(images.subarray(i * pixels, (i + 1) * pixels));
    let img = sharp(raw, { raw: { width: w, height: h, channels: c as 1 | 3 } });
    img = Math.max(h, w) > THUMB_PX ? img.resize(THUMB_PX, THUMB_PX, { fit: 'inside' }) : img.resize(w * scale, h * scale, { kernel: 'nearest' });
    const png = await img.png({ palette: c !== 1, compressionLevel: 9 }).toBuffer();
    out[name] = `data:image/png;base64,${png.toString('base64')}`;
  }
  return out;
}

/** Misclassified images shown in a report's grid. */
const MAX_MISCLASSIFIED = 24;

/** The first misclassified images of a split (at most MAX_MISCLASSIFIED), with both class names. */
export function firstMisclassified(
  predictions: SplitPredictions,
  classNames: string[],
): { index: number; trueClass: string; predictedClass: string; probability: number }[] {
  const out = [];
  for (let i = 0; i < predictions.labels.length && out.length < MAX_MISCLASSIFIED; i++) {
    const [truth, guess] = [predictions.labels[i], predictions.predicted[i]];
    if (truth !== guess) out.push({ index: i, trueClass: classNames[truth], predictedClass: classNames[guess], probability: predictions.confidence[i] });
  }
  return out;
}
