// Which epoch a fine-tuning stage keeps: epoch 0 (its start) unless a later one does better.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beats, keepBetter, type KeptEpoch } from '../../lib/training/keep-best';

const epoch = (n: number, valAccuracy: number, valLoss: number): KeptEpoch => ({ epoch: n, valAccuracy, valLoss, weightsKey: `k${n}` });

test('only a higher held-back accuracy beats; a lower loss at the same accuracy does not', () => {
  assert.equal(beats(epoch(1, 0.9, 0.5), epoch(0, 0.88, 0.2)), true);
  assert.equal(beats(epoch(1, 0.88, 0.1), epoch(0, 0.9, 0.5)), false);
  assert.equal(beats(epoch(1, 0.9, 0.3), epoch(0, 0.9, 0.4)), false, 'a loss-only gain does not replace the start');
  assert.equal(beats(epoch(1, 0.9, 0.4), epoch(0, 0.9, 0.4)), false, 'an equal epoch does not replace the start');
  assert.equal(beats(epoch(1, 0.95, NaN), epoch(0, 0.5, 1)), false, 'a diverged epoch never wins');
});

test('a stage whose epochs never beat its start keeps epoch 0', () => {
  let kept: KeptEpoch | null = null;
  for (const e of [epoch(0, 0.92, 0.25), epoch(1, 0.9, 0.3), epoch(2, 0.92, 0.1), epoch(3, 0.88, 0.2)]) kept = keepBetter(kept, e);
  assert.equal(kept!.epoch, 0);
  kept = keepBetter(kept, epoch(4, 0.94, 0.3));
  assert.equal(kept.epoch, 4);
});
