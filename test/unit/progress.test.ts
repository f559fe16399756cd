// Progress that tells the truth: weighted by expected work, never backwards, never "done" on a
// failure, with an estimate of the time left; and the live merge of heartbeats into recorded state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochFraction, formatDuration, mergeLive, RemainingTime, runFraction, stepFraction } from '../../lib/progress';
import { labCnnWork, progressLine, LAB_CNN_DEFAULTS, type RunProgress, type StepProgress } from '../../contracts';
import { ProgressView } from '../../cli/progress';

const steps = ['ingest', 'train', 'evaluate'];
const work = { ingest: 1, train: 8, evaluate: 1 };
const at = (step: string, detail?: StepProgress): RunProgress => ({ pipeline: 'lab-cnn', step, steps, work, detail });

test('steps weigh by their expected work: halfway through training is half of the run plus ingest', () => {
  const p = at('train', { step: 'train', epoch: 2, epochs: 4, batch: 0, batches: 10, fraction: epochFraction(2, 4, 0, 10) });
  assert.equal(runFraction(p), (1 + 8 * 0.25) / 10);
  assert.equal(runFraction(at('train', { step: 'train', fraction: 0.5 })), (1 + 4) / 10);
  assert.equal(runFraction(at('done')), 1);
  assert.equal(runFraction(at('failed')), undefined, 'a failed run has no fraction of its own');
});

test('an epoch boundary never moves the fraction back (the last batch, the epoch record, the next batch)', () => {
  const epochs = 3;
  const beats = [epochFraction(1, epochs, 9, 10), epochFraction(1, epochs, 10, 10), 1 / epochs, epochFraction(2, epochs, 1, 10)];
  const fractions = beats.map((fraction) => runFraction(at('train', { step: 'train', fraction }))!);
  for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i] >= fractions[i - 1], `${fractions[i]} after ${fractions[i - 1]}`);
  // A record without a fraction (an older attempt's) still counts the finished epoch.
  assert.equal(stepFraction({ step: 'train', epoch: 1, epochs: 3 }), 1 / 3);
});

test('lab-CNN weights: training dominates in proportion to images × epochs', () => {
  const short = labCnnWork({ ...LAB_CNN_DEFAULTS, epochs: 1, limit: 20000 }, false);
  const long = labCnnWork({ ...LAB_CNN_DEFAULTS, epochs: 30 }, true);
  assert.ok(Math.abs(long.train / short.train - 90) < 1e-9, 'three times the images, thirty times the epochs');
  assert.ok(long.train > 50 * (long.ingest + long.evaluate + long.promote));
  assert.equal(short.promote, undefined);
});

test('mergeLive: the pending activity of the current step gives the live numbers; the record keeps validation', () => {
  const recorded = at('train', { step: 'train', epoch: 1, epochs: 3, valAccuracy: 0.8, fraction: 1 / 3 });
  const live = mergeLive(recorded, [{ step: 'train', epoch: 2, epochs: 3, batch: 5, batches: 10, loss: 0.4, accuracy: 0.85, imagesPerSecond: 1234, fraction: 0.5 }]);
  assert.equal(live.detail!.batch, 5);
  assert.equal(live.detail!.valAccuracy, 0.8);
  assert.equal(progressLine(live), 'train epoch 2/3 batch 5/10 loss 0.4000 acc 85.0% val 80.0% 1234 img/s');
  // A heartbeat of another step (a previous step's activity still being cancelled) is ignored.
  assert.deepEqual(mergeLive(recorded, [{ step: 'ingest', fraction: 1 }]), recorded);
});

test('mergeLive: a fanned-out step counts finished activities and the running ones\' shares', () => {
  const p: RunProgress = { pipeline: 'transfer', step: 'extract', steps: ['extract'], detail: { step: 'extract', message: 'feature shards', activities: { finished: 2, total: 4 } } };
  assert.equal(stepFraction(p.detail), 0.5);
  const live = mergeLive(p, [
    { step: 'extract', fraction: 0.5 },
    { step: 'extract', fraction: 0.5 },
  ]);
  assert.equal(stepFraction(live.detail), 0.75);
  assert.equal(progressLine(live), 'extract feature shards 2/4');
});

test('ProgressView: monotonic when estimates are revised, keeps its fraction on failure, ETA from the recent pace', () => {
  const view = new ProgressView();
  const t0 = 1_000_000;
  assert.equal(view.update(at('train', { step: 'train', fraction: 0.5 }), t0).fraction, 0.5);
  // A retried attempt that reports less than before: the bar waits.
  assert.equal(view.update(at('train', { step: 'train', fraction: 0.25 }), t0 + 1000).fraction, 0.5);
  const later = view.update(at('train', { step: 'train', fraction: 0.75 }), t0 + 20_000);
  assert.ok(later.fraction > 0.5);
  assert.match(later.text, /\| ETA \d+s$/);
  const failed = view.update(at('failed'), t0 + 21_000);
  assert.equal(failed.fraction, later.fraction, 'a failure is not 100%');
  assert.equal(failed.text, 'failed');
});

test('RemainingTime: nothing until ten seconds of progress, then the time left at that pace', () => {
  const eta = new RemainingTime();
  assert.equal(eta.update(0.1, 0), undefined);
  assert.equal(eta.update(0.2, 5_000), undefined);
  assert.equal(eta.update(0.3, 20_000), 70);
  assert.equal(formatDuration(70), '1m10s');
  assert.equal(formatDuration(7260), '2h01m');
});
