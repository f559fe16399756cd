// `tl predict`: classifies image files with a model a run produced.
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../lib/config';
import type { PredictionMetadata } from '../contracts';
import { artifactKey } from '../lib/store/store';
import { s3ModelIO } from '../lib/tf/s3-model-io';
import { initBackend } from '../lib/tf/backend';
import { imageToTensorBytes } from '../lib/data/images/decode';
import { preprocessImages } from '../lib/models/backbone';
import { predictWithTta } from '../lib/models/tta';
import { connectStore } from './connect';
import { CliError, EXIT } from './errors';

export interface Prediction {
  file: string;
  className?: string;
  probability?: number;
  error?: string;
}

/** A run id means that run's chosen model; s3://bucket/prefix names a model folder. */
export function modelPrefix(spec: string, bucket: string): string {
  if (spec.startsWith('s3://')) {
    const [b, ...rest] = spec.slice(5).split('/');
    if (b !== bucket) throw new CliError(`--model ${spec}: bucket ${JSON.stringify(b)} is not the configured bucket ${JSON.stringify(bucket)}`, EXIT.usage);
    return artifactKey(rest.join('/').replace(/\/(model\.json)?$/, ''));
  }
  try {
    return `${artifactKey('runs', spec)}/model`;
  } catch {
    throw new CliError(`--model ${JSON.stringify(spec)} is neither a run id nor an s3:// model folder`, EXIT.usage);
  }
}

export async function predict(config: Config, modelSpec: string, files: string[], opts: { tta?: boolean } = {}): Promise<Prediction[]> {
  const store = await connectStore(config);
  await initBackend({ queue: 'cpu', forced: config.backend });
  const prefix = modelPrefix(modelSpec, store.bucket);
  const model = await tf.loadLayersModel(s3ModelIO(store, prefix)).catch((err: Error) => {
    throw new CliError(`cannot load model ${store.s3Url(prefix)}: ${err.message}`);
  });
  const meta = model.getUserDefinedMetadata() as PredictionMetadata | undefined;
  if (!meta?.classNames) throw new CliError(`model ${store.s3Url(prefix)} has no class names: it was not produced by \`tl run transfer\``);
  const results: Prediction[] = [];
  for (const file of files) {
    try {
      const bytes = await fs.promises.readFile(file);
      const pixels = await imageToTensorBytes(bytes, {
        size: meta.storedSize ?? meta.inputSize,
        colorMode: meta.channels === 1 ? 'grayscale' : 'rgb',
        resize: meta.resize,
        maxPixels: 50_000_000,
      });
      const probs = tf.tidy(() => {
        const x = preprocessImages(meta, pixels, 1);
        return (opts.tta ? predictWithTta(model, x) : (model.predict(x) as tf.Tensor)).dataSync();
      });
      let best = 0;
      for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
      results.push({ file, className: meta.classNames[best], probability: probs[best] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { reason?: string };
      results.push({ file, error: e.code === 'ENOENT' ? 'no such file' : (e.reason ?? e.message) });
    }
  }
  model.dispose();
  return results;
}
