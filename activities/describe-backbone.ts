// Activity: loads a backbone once to learn its identity (content hash), cut layer,
// input size, colour mode, scaling and feature size: the rest of the run keys on these.
// A backbone name is resolved here, on the worker, to its model in S3 and its record's
// cut layer and scaling (lib/store/backbone-registry.ts).
import type { ActivityDeps } from './deps';
import type { BackboneInfo } from '../contracts';
import { backboneSource, isBackboneName, readBackbone } from '../lib/store/backbone-registry';
import { BackboneHashError, backboneInfo, cachedBackbone } from './backbones';

export function describeBackboneActivity(deps: ActivityDeps) {
  return async function describeBackbone(input: { backbone: string; cutLayer?: string }): Promise<BackboneInfo> {
    const { store } = deps();
    if (!isBackboneName(input.backbone)) return backboneInfo(await cachedBackbone(store, input.backbone, input.cutLayer));
    const record = await readBackbone(store, input.backbone);
    const loaded = await cachedBackbone(store, backboneSource(store, record), input.cutLayer ?? record.cutLayer, record.scaling);
    if (loaded.spec.sha256 !== record.sha256) {
      throw new BackboneHashError(`backbone ${record.name}: the stored model's hash ${loaded.spec.sha256} is not the recorded ${record.sha256}`);
    }
    return { ...backboneInfo(loaded), name: record.name };
  };
}
