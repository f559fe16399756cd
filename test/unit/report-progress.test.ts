// The progress bar's text and fraction for every kind of step detail the workflows report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeProgress } from '../../cli/progress';

const steps = ['ingest', 'extract', 'train', 'evaluate'];

test('epoch steps: fraction within the step from epoch and batch', () => {
  const p = describeProgress({ pipeline: 'x', step: 'train', steps, detail: { step: 'train', epoch: 2, epochs: 4, batch: 5, batches: 10, loss: 0.5, accuracy: 0.8 } });
  assert.equal(p.fraction, (2 + (1 + 0.5) / 4) / 4);
  assert.equal(p.text, 'train epoch 2/4 batch 5/10 loss 0.5000 acc 80.0%');
});

test('counted steps (ingest shards, extracted feature shards, evaluated images): done of total', () => {
  const extract = describeProgress({ pipeline: 'x', step: 'extract', steps, detail: { step: 'extract', message: 'feature shards', done: 3, total: 4 } });
  assert.equal(extract.fraction, (1 + 0.75) / 4);
  assert.equal(extract.text, 'extract feature shards 3/4');
  const evaluate = describeProgress({ pipeline: 'x', step: 'evaluate', steps, detail: { step: 'evaluate', message: 'test images', done: 10000, total: 10000 } });
  assert.equal(evaluate.fraction, 1);
  // A count of zero is progress too: the step has started.
  const ingest = describeProgress({ pipeline: 'x', step: 'ingest', steps, detail: { step: 'ingest', message: 'writing train shards', done: 0, total: 6 } });
  assert.equal(ingest.fraction, 0);
  assert.equal(ingest.text, 'ingest writing train shards 0/6');
});

test('message only, and done', () => {
  assert.equal(describeProgress({ pipeline: 'x', step: 'evaluate', steps, detail: { step: 'evaluate', message: 'writing the report' } }).text, 'evaluate writing the report');
  assert.equal(describeProgress({ pipeline: 'x', step: 'done', steps }).fraction, 1);
});
