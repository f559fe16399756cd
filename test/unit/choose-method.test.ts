import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseMethod, type MethodScore } from '../../lib/training/choose-method';

const features = (acc: number): MethodScore => ({ method: 'features', label: 'Feature extraction + logistic regression', heldOutAccuracy: acc });
const finetune = (acc: number): MethodScore => ({ method: 'finetune', label: 'Fine-tuning', heldOutAccuracy: acc });
const heldOut = { split: 'val', count: 153 };

test('the method with the higher held-out accuracy wins, in either order', () => {
  assert.equal(chooseMethod([features(0.9477), finetune(0.9542)], heldOut).method, 'finetune');
  assert.equal(chooseMethod([finetune(0.9542), features(0.9477)], heldOut).method, 'finetune');
  assert.equal(chooseMethod([finetune(0.9739), features(0.9804)], heldOut).method, 'features');
});

test('a tie goes to the features method, whichever was listed first', () => {
  assert.equal(chooseMethod([finetune(0.9804), features(0.9804)], heldOut).method, 'features');
  assert.equal(chooseMethod([features(0.9804), finetune(0.9804)], heldOut).method, 'features');
});

test('the reason quotes both scores and the held-out set', () => {
  const { reason } = chooseMethod([features(0.9477), finetune(0.9542)], heldOut);
  assert.equal(reason, '95.4% vs 94.8% held-out accuracy on val (153 images)');
});

test('one method alone is chosen and said to be the only one', () => {
  assert.deepEqual(chooseMethod([finetune(0.5)], heldOut), { method: 'finetune', reason: 'only fine-tuning ran' });
});

test('no method at all is an error, not a silent pick', () => {
  assert.throws(() => chooseMethod([], heldOut), /no method was trained/);
});
