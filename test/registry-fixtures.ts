// A registry entry for tests: what a finished lab-CNN run would register.
import type { ModelEntry } from '../lib/store/registry';

export const modelEntry = (runId: string): ModelEntry => ({
  runId,
  pipeline: 'lab-cnn',
  modelKey: `runs/${runId}/model/model.json`,
  classNames: ['a', 'b'],
  heldOut: { manifestKey: 'datasets/x/manifests/y.json', split: 'test', count: 100 },
  metrics: { accuracy: 0.5, macroF1: 0.5 },
});
