// Where extracted features live, and how they are read back.
import * as path from 'node:path';
import { type ArtifactStore, artifactKey } from '../store/store';
import type { BackboneInfo } from '../../contracts';
import type { DatasetManifest } from './dataset';

/** The cache identity: dataset hash, backbone hash, cut layer and preprocessing. */
export function featurePrefix(manifestKey: string, backbone: BackboneInfo): string {
  const datasetSha = path.posix.basename(manifestKey, '.json');
  const cut = backbone.cutLayer.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  const prep = `${backbone.inputSize[0]}x${backbone.inputSize[1]}x${backbone.channels}-${backbone.scaling}`;
  return artifactKey('features', datasetSha, backbone.sha256, cut, prep);
}

/** Key of one shard's features (its labels stay in the dataset's own label shard). */
export function featureKey(manifestKey: string, backbone: BackboneInfo, split: string, shardIndex: number): string {
  return `${featurePrefix(manifestKey, backbone)}/${split}-${shardIndex}.f32`;
}

export interface FeatureSplit {
  count: number;
  dim: number;
  x: Float32Array;
  y: Uint8Array;
}

/** One stored shard of features and the keys it is read from. */
export interface FeatureShardRef {
  split: string;
  count: number;
  features: string;
  labels: string;
}

/** The feature shards of a split, named from the manifest and the backbone (no list is stored). */
export function featureShardsOf(manifestKey: string, manifest: DatasetManifest, backbone: BackboneInfo, split: string): FeatureShardRef[] {
  const shards = manifest.splits[split]?.shards ?? [];
  return shards.map((shard, shardIndex) => ({ split, count: shard.count, features: featureKey(manifestKey, backbone, split, shardIndex), labels: shard.labels.key }));
}

/** Concatenates one split's feature shards (in shard order). */
export async function loadFeatureSplit(store: Pick<ArtifactStore, 'getBytes'>, shards: FeatureShardRef[], split: string, dim: number): Promise<FeatureSplit> {
  const mine = shards.filter((s) => s.split === split);
  const count = mine.reduce((n, s) => n + s.count, 0);
  const x = new Float32Array(count * dim);
  const y = new Uint8Array(count);
  let offset = 0;
  for (const shard of mine) {
    const [f, l] = await Promise.all([store.getBytes(shard.features), store.getBytes(shard.labels)]);
    x.set(new Float32Array(f.slice().buffer), offset * dim);
    y.set(l, offset);
    offset += shard.count;
  }
  return { count, dim, x, y };
}

/** Rows of a feature matrix picked by index. */
export function selectRows(split: FeatureSplit, indices: ArrayLike<number>): { x: Float32Array; y: Uint8Array } {
  const x = new Float32Array(indices.length * split.dim);
  const y = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    x.set(split.x.subarray(indices[i] * split.dim, (indices[i] + 1) * split.dim), i * split.dim);
    y[i] = split.y[indices[i]];
  }
  return { x, y };
}
