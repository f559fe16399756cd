// Activities: features of every dataset shard through the frozen backbone (inference mode),
// one activity per shard. Features are cached in S3 under a key made of the dataset hash,
// the backbone hash, the cut layer and the preprocessing, so a rerun does no work.
import { Context } from '@temporalio/activity';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDeps } from './deps';
import type { BackboneInfo, FeatureShard } from '../lib/pipeline-types';
import { loadManifest } from '../lib/dataset';
import { preprocessImages } from '../lib/models/backbone';
import { featureKeys } from '../lib/features';
import { failFastOnBadInput } from './errors';
import { cachedBackbone } from './backbones';
import { yieldToEventLoop } from '../lib/event-loop';

const BATCH = 32;

export function extractFeaturesActivities(deps: ActivityDeps) {
  return {
    async listDatasetShards(input: { manifestKey: string }): Promise<{ split: string; shardIndex: number; count: number }[]> {
      const manifest = await loadManifest(deps().store, input.manifestKey);
      return Object.entries(manifest.splits).flatMap(([split, entry]) =>
        entry.shards.map((shard, shardIndex) => ({ split, shardIndex, count: shard.count })),
      );
    },

    async extractFeatures(input: { manifestKey: string; split: string; shardIndex: number; backbone: BackboneInfo }): Promise<FeatureShard> {
      return failFastOnBadInput(async () => {
        const { store } = deps();
        const keys = featureKeys(input.manifestKey, input.backbone, input.split, input.shardIndex);
        const [f, l] = await Promise.all([store.head(keys.features), store.head(keys.labels)]);
        const manifest = await loadManifest(store, input.manifestKey);
        const shard = manifest.splits[input.split].shards[input.shardIndex];
        if (f && l) return { split: input.split, count: shard.count, features: keys.features, labels: keys.labels, cached: true };

        const backbone = await cachedBackbone(store, input.backbone.source, input.backbone.cutLayer);
        if (backbone.spec.sha256 !== input.backbone.sha256) {
          throw Object.assign(new Error(`backbone ${input.backbone.source} changed during the run (hash ${backbone.spec.sha256}, expected ${input.backbone.sha256})`), { name: 'ModelFormatError' });
        }
        const images = await store.getBytes(shard.images.key);
        const pixels = manifest.imageShape.reduce((a, b) => a * b, 1);
        const dim = input.backbone.featureDim;
        const features = new Float32Array(shard.count * dim);
        const ctx = Context.current();
        for (let start = 0; start < shard.count; start += BATCH) {
          const n = Math.min(BATCH, shard.count - start);
          const out = tf.tidy(() => backbone.body.predict(preprocessImages(backbone.spec, images.subarray(start * pixels, (start + n) * pixels), n)) as tf.Tensor);
          features.set(await out.data(), start * dim);
          out.dispose();
          ctx.heartbeat({ split: input.split, shardIndex: input.shardIndex, done: start + n, of: shard.count });
          await yieldToEventLoop();
        }
        await store.putBytes(keys.labels, await store.getBytes(shard.labels.key));
        // Features last: their presence is what marks the pair as cached.
        await store.putBytes(keys.features, new Uint8Array(features.buffer));
        return { split: input.split, count: shard.count, features: keys.features, labels: keys.labels, cached: false };
      });
    },
  };
}
