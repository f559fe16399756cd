// Activity: loads a backbone once to learn its identity (content hash), cut layer,
// input size, colour mode, scaling and feature size: the rest of the run keys on these.
import type { ActivityDeps } from './deps';
import type { BackboneInfo } from '../lib/pipeline-types';
import { failFastOnBadInput } from './errors';
import { backboneInfo, cachedBackbone } from './backbones';

export function describeBackboneActivity(deps: ActivityDeps) {
  return async function describeBackbone(input: { backbone: string; cutLayer?: string }): Promise<BackboneInfo> {
    return failFastOnBadInput(async () => backboneInfo(await cachedBackbone(deps().store, input.backbone, input.cutLayer)));
  };
}
