// Activities: features of every dataset shard through the frozen backbone (inference mode),
// one activity per shard. Features are cached in S3 under a key made of the dataset hash,
// the backbone hash, the cut layer and the preprocessing, so a rerun does no work.
import type { ActivityDeps } from './deps';
import type { BackboneInfo, FeatureShard, SplitShards } from '../contracts';
import { loadManifest } from '../lib/data/dataset';
import { extractFeatures, forStoredImages } from '../lib/models/backbone';
import { featureKey } from '../lib/data/features';
import { heartbeatProgress } from './progress';
import { BackboneHashError, cachedBackbone } from './backbones';

const BATCH = 32;

export function extractFeaturesActivities(deps: ActivityDeps) {
  return {
    /** Shards per split: all a workflow needs to fan out (a list of shards would grow with the dataset). */
    async countDatasetShards(input: { manifestKey: string }): Promise<SplitShards[]> {
      const manifest = await loadManifest(deps().store, input.manifestKey);
      return Object.entries(manifest.splits).map(([split, entry]) => ({ split, shards: entry.shards.length, images: entry.count }));
    },

    async extractFeatures(input: { manifestKey: string; split: string; shardIndex: number; backbone: BackboneInfo }): Promise<FeatureShard> {
      const started = Date.now();
      const seconds = () => (Date.now() - started) / 1000;
      const { store, backend } = deps();
      const key = featureKey(input.manifestKey, input.backbone, input.split, input.shardIndex);
      const manifest = await loadManifest(store, input.manifestKey);
      const shard = manifest.splits[input.split].shards[input.shardIndex];
      const result = { split: input.split, count: shard.count, features: key, labels: shard.labels.key };
      if (await store.head(key)) return { ...result, cached: true, seconds: seconds() };

      const backbone = await cachedBackbone(store, input.backbone.source, input.backbone.cutLayer, input.backbone.scaling);
      if (backbone.spec.sha256 !== input.backbone.sha256) {
        throw new BackboneHashError(`backbone ${input.backbone.source} changed during the run (hash ${backbone.spec.sha256}, expected ${input.backbone.sha256})`);
      }
      let mark = Date.now();
      const lap = () => {
        const s = (Date.now() - mark) / 1000;
        mark = Date.now();
        return s;
      };
      const images = await store.getBytes(shard.images.key);
      const readSeconds = lap();
      const stored = forStoredImages(backbone.spec, manifest.imageShape).storedSize;
      const features = await extractFeatures(
        backbone,
        images,
        BATCH,
        (done, of) => heartbeatProgress({ step: 'extract', message: `${input.split} shard ${input.shardIndex}`, done, total: of, fraction: done / of }),
        stored,
      );
      const computeSeconds = lap();
      await store.putBytes(key, new Uint8Array(features.buffer));
      return { ...result, cached: false, seconds: seconds(), backend, profile: { readSeconds, computeSeconds, writeSeconds: lap() } };
    },
  };
}
