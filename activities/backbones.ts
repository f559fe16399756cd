// Backbones loaded once per worker process, keyed by (source, cut layer), for inference only:
// every shard's feature extraction reuses the same frozen weights, with batch norm folded in.
// Fine-tuning loads its own copy, since it trains it.
import type { ArtifactStore } from '../lib/store/store';
import { loadBackbone, type Backbone, type Scaling } from '../lib/models/backbone';
import type { BackboneInfo } from '../contracts';
import { ModelFormatError } from '../lib/tf/model-io';

/** A backbone whose weights are not the ones its hash names: a ModelFormatError with its own wording. */
export class BackboneHashError extends ModelFormatError {
  constructor(message: string) {
    super('', '');
    this.message = message;
  }
}

const loaded = new Map<string, Promise<Backbone>>();

/** `scaling` overrides the model's own rule (a registered backbone's record, or the run's BackboneInfo). */
export function cachedBackbone(store: ArtifactStore, source: string, cutLayer?: string, scaling?: string): Promise<Backbone> {
  const key = `${source}\u0000${cutLayer ?? ''}\u0000${scaling ?? ''}`;
  const known = loaded.get(key);
  if (known) return known;
  const loading = loadBackbone(source, { store, cutLayer, scaling: scaling as Scaling | undefined, inferenceOnly: true });
  loading.catch(() => loaded.delete(key)); // a failed load is tried again next time
  loaded.set(key, loading);
  return loading;
}

export function backboneInfo(backbone: Backbone): BackboneInfo {
  const { source, sha256, cutLayer, inputSize, channels, scaling, featureDim } = backbone.spec;
  return { source, sha256, cutLayer, inputSize, channels, scaling, featureDim };
}
