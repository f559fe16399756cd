// The promotion rule (lib/store/promotion.ts): margins, the macro-F1 tie-break, no champion, not comparable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PROMOTE_MARGIN, decidePromotion } from '../../lib/store/promotion';

const challenger = (accuracy: number, macroF1 = 0.5) => ({ runId: 'new', accuracy, macroF1 });
const champion = (accuracy: number, macroF1 = 0.5) => ({ runId: 'old', accuracy, macroF1 });

test('no champion yet: promote', () => {
  const d = decidePromotion({ challenger: challenger(0.1), margin: DEFAULT_PROMOTE_MARGIN });
  assert.equal(d.promoted, true);
  assert.match(d.reason, /no champion yet/);
});

test('better by more than the margin: promote; by less: keep', () => {
  assert.equal(decidePromotion({ challenger: challenger(0.81), champion: champion(0.8), margin: 0.005 }).promoted, true);
  const small = decidePromotion({ challenger: challenger(0.804), champion: champion(0.8), margin: 0.005 });
  assert.equal(small.promoted, false);
  assert.match(small.reason, /80\.40% vs champion's 80\.00%: not better by the 0\.50% margin/);
  assert.equal(decidePromotion({ challenger: challenger(0.79, 0.99), champion: champion(0.8, 0.1), margin: 0 }).promoted, false);
});

test('the margin is configurable', () => {
  const scores = { challenger: challenger(0.82), champion: champion(0.8) };
  assert.equal(decidePromotion({ ...scores, margin: 0.01 }).promoted, true);
  assert.equal(decidePromotion({ ...scores, margin: 0.05 }).promoted, false);
});

test('gain exactly at the margin is a tie, broken by macro F1', () => {
  // 0.805 - 0.8 is 0.0050000000000000044 in floating point: still a tie.
  const win = decidePromotion({ challenger: challenger(0.805, 0.7), champion: champion(0.8, 0.6), margin: 0.005 });
  assert.equal(win.promoted, true);
  assert.match(win.reason, /breaks the tie/);
  const lose = decidePromotion({ challenger: challenger(0.805, 0.6), champion: champion(0.8, 0.6), margin: 0.005 });
  assert.equal(lose.promoted, false);
  assert.match(lose.reason, /does not break the tie/);
});

test('margin 0: equal accuracy is decided by macro F1', () => {
  assert.equal(decidePromotion({ challenger: challenger(0.8, 0.71), champion: champion(0.8, 0.7), margin: 0 }).promoted, true);
  assert.equal(decidePromotion({ challenger: challenger(0.8, 0.69), champion: champion(0.8, 0.7), margin: 0 }).promoted, false);
  assert.equal(decidePromotion({ challenger: challenger(0.8, 0.7), champion: champion(0.8, 0.7), margin: 0 }).promoted, false);
});

test('not comparable: keep the champion whatever the numbers, and say why', () => {
  const d = decidePromotion({
    challenger: challenger(0.99),
    champion: champion(0.1),
    notComparable: 'its classes [a, b] are not this held-out set\'s [c, d]',
    margin: 0,
  });
  assert.equal(d.promoted, false);
  assert.match(d.reason, /not comparable with champion old: its classes \[a, b\]/);
  assert.match(d.reason, /--force/);
});

test('the champion itself is not promoted again', () => {
  const d = decidePromotion({ challenger: { ...challenger(0.9), runId: 'old' }, champion: champion(0.9), margin: 0 });
  assert.equal(d.promoted, false);
  assert.match(d.reason, /already the champion/);
});

test('a margin outside [0, 1] is an error naming it', () => {
  assert.throws(() => decidePromotion({ challenger: challenger(0.9), margin: -0.1 }), /promotion margin -0\.1 is invalid/);
  assert.throws(() => decidePromotion({ challenger: challenger(0.9), margin: Number.NaN }), /promotion margin NaN is invalid/);
});
