// Transfer learning through the real stack on the ants-vs-bees photos (EfficientNet-Lite0): both methods, the
// cache on a second run, predictions with the chosen model, and a GPU-queue worker killed
// during fine-tuning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { REPO_ROOT, runTl, serverHeartbeat, startWorker, temporalClient, testConfig, testEnv, testStore, waitFor, waitForTraining, type WorkerProcess, readJson } from './harness';
import { transferKeys } from '../../lib/transfer';
import { type TransferRunResult, TRANSFER_DEFAULTS } from '../../contracts';
import type { TransferReport } from '../../lib/report/transfer';
import type { transferLearning } from '../../workflows';
import type { FineTuneHeartbeat } from '../../activities/fine-tune';

const DATA = path.resolve(REPO_ROOT, '../shared/data/datasets/hymenoptera_data');
const BACKBONE = path.resolve(REPO_ROOT, '../shared/data/models/mobilenet_v1_0.25_224');
// The accuracy test uses a backbone worth deploying; the kill test the small, fast one.
const STRONG = path.resolve(REPO_ROOT, '../shared/data/models/efficientnet_lite0_224');
const available = fs.existsSync(DATA) && fs.existsSync(BACKBONE) && fs.existsSync(STRONG);
const skip = available ? false : 'needs ../shared/data (hymenoptera_data, mobilenet_v1_0.25_224 and efficientnet_lite0_224)';

// Short stages keep the test quick; the schedule itself is what is under test.
const STAGES = JSON.stringify([
  { name: 'head', unfreeze: 'head', epochs: 3, learningRate: 0.001 },
  { name: 'top', unfreeze: { topLayers: 6 }, epochs: 2, learningRate: 0.0001 },
]);

const env = testEnv();
const config = testConfig(env);
const workers: WorkerProcess[] = [];
let client: Client;
const stamp = Date.now().toString(36);

before(async () => {
  if (!available) return;
  workers.push(await startWorker(env, 'cpu'), await startWorker(env, 'gpu'));
  client = await temporalClient(config);
});

after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await client?.connection.close();
});

test('both methods on hymenoptera, a cached rerun, and predictions', { skip }, async () => {
  const id = `test-transfer-${stamp}-a`;
  const args = ['run', 'transfer', '--data', DATA, '--backbone', STRONG, '--stages', STAGES, '--seed', '7'];
  const r = await runTl([...args, '--tta', '--id', id, '--wait'], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /features\s+held-out accuracy/);
  assert.match(r.stdout, /finetune\s+held-out accuracy [\d.]+% \(selection [\d.]+%, with TTA [\d.]+%\)/);

  const store = testStore(config);
  const report = await readJson<TransferReport>(store, transferKeys(id).reportJson);
  assert.equal(report.dataset.heldOutSplit, 'val');
  assert.equal(report.dataset.counts.train, 244);
  assert.equal(report.dataset.counts.val, 153);
  assert.deepEqual(report.dataset.classNames, ['ants', 'bees']);
  const features = report.methods.find((m) => m.method === 'features')!;
  const finetune = report.methods.find((m) => m.method === 'finetune')!;
  // EfficientNet-Lite0 features + LR reach about 95 % on these 153 images.
  assert.ok(features.heldOut.accuracy > 0.92, `features + LR held-out accuracy ${features.heldOut.accuracy}`);
  assert.ok(finetune.heldOut.accuracy > 0.9, `fine-tuning held-out accuracy ${finetune.heldOut.accuracy}`);
  assert.equal(finetune.stages?.length, 2);
  // Fine-tuning starts from the LR head (its epoch 0) and keeps an epoch only if it beats it there.
  const [stage1, stage2] = finetune.stages!;
  assert.ok(Math.abs(stage1.start!.valAccuracy - features.selectionAccuracy) < 1e-6, `stage 1 starts at the LR head: ${stage1.start!.valAccuracy} vs ${features.selectionAccuracy}`);
  assert.ok(stage2.start!.valAccuracy >= stage1.start!.valAccuracy, 'stage 2 starts from what stage 1 kept');
  assert.ok(finetune.selectionAccuracy >= features.selectionAccuracy - 1e-6, `fine-tuning ${finetune.selectionAccuracy} < features ${features.selectionAccuracy} on the held-back images`);
  assert.equal(features.heldOut.count, 153);
  // Test-time augmentation: reported next to the plain score, over 7 views.
  for (const m of [features, finetune]) {
    assert.equal(m.heldOutTta?.views, 7);
    assert.ok(m.heldOutTta!.accuracy > 0.6 && Math.abs(m.heldOutTta!.accuracy - m.heldOut.accuracy) < 0.1, `${m.method}: ${m.heldOutTta!.accuracy} with TTA vs ${m.heldOut.accuracy}`);
  }
  // λ by 5-fold CV on the 244 training images: each fold's score is in the report.
  assert.match(features.l2Selection ?? '', /^5-fold stratified cross-validation on 244 training images$/);
  assert.ok(features.l2Grid!.every((g) => g.foldAccuracies?.length === 5 && g.spread! >= 0));
  assert.ok(await store.head(`${transferKeys(id).model}/model.json`), 'the chosen model is stored');
  const html = (await runTl(['report', id], env)).stdout;
  assert.match(html, /ants/);

  // Predict with the chosen model; a missing file is reported, not fatal to the others.
  const ant = path.join(DATA, 'val/ants/F.pergan.28(f).jpg');
  const bee = path.join(DATA, 'val/bees/1032546534_06907fe3b3.jpg');
  const p = await runTl(['predict', '--model', id, ant, bee, '/nonexistent.jpg', '--json'], env);
  assert.equal(p.code, 1, p.stderr);
  const predictions = JSON.parse(p.stdout) as { file: string; className?: string; probability?: number; error?: string }[];
  assert.equal(predictions.length, 3);
  for (const pred of predictions.slice(0, 2)) {
    assert.ok(['ants', 'bees'].includes(pred.className!));
    assert.ok(pred.probability! > 0.5 && pred.probability! <= 1);
  }
  assert.equal(predictions[2].error, 'no such file');
  const withTta = JSON.parse((await runTl(['predict', '--model', id, '--tta', ant, bee, '--json'], env)).stdout) as typeof predictions;
  assert.deepEqual(withTta.map((x) => x.file), [ant, bee]);
  for (const [i, pred] of withTta.entries()) {
    assert.ok(['ants', 'bees'].includes(pred.className!));
    assert.notEqual(pred.probability, predictions[i].probability, 'TTA averages other views in');
  }

  // Same inputs again: ingestion and feature extraction are cached, and the report says why.
  const again = await runTl([...args, '--method', 'features', '--id', `test-transfer-${stamp}-b`, '--wait'], env);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const second = await readJson<TransferReport>(store, transferKeys(`test-transfer-${stamp}-b`).reportJson);
  const cache = Object.fromEntries(second.cache.map((c) => [c.step, c]));
  assert.equal(cache.ingest.cached, true, cache.ingest.reason);
  assert.equal(cache.extract.cached, true, cache.extract.reason);
  assert.match(cache.ingest.reason, /same files/);
});

test('killing the GPU-queue worker during fine-tuning resumes from the checkpoint', { skip }, async () => {
  const id = `test-transfer-${stamp}-kill`;
  // Stage 1 trains the top of the body too, so its epochs last seconds even on a fast machine
  // (a head-only epoch on folded frozen layers can end before a progress update is sent).
  const stages = [
    { name: 'top', unfreeze: { topLayers: 20 }, epochs: 4, learningRate: 0.0001 },
    { name: 'head', unfreeze: 'head' as const, epochs: 1, learningRate: 0.001 },
  ];
  const handle = await client.workflow.start<typeof transferLearning>('transferLearning', {
    taskQueue: config.taskQueues.cpu,
    workflowId: id,
    args: [{ options: { ...TRANSFER_DEFAULTS, data: DATA, backbone: BACKBONE, method: 'finetune', stages, patience: 10, seed: 11 }, gpuTaskQueue: config.taskQueues.gpu }],
  });
  // Killed in stage 1's second epoch or later, once the server holds a stage-1 checkpoint in
  // the attempt's heartbeat (what the retry resumes from).
  await waitForTraining(handle, (p) => p.step === 'finetune' && p.detail?.message === 'stage top' && (p.detail?.epoch ?? 0) >= 2);
  await waitFor(
    'a stage-1 checkpoint in the server-side heartbeat',
    async () => {
      const beat = await serverHeartbeat<FineTuneHeartbeat>(handle, 'fineTune');
      return beat?.checkpoint?.stage === 0 ? beat : undefined;
    },
    60_000,
    200,
  );
  const gpuWorker = workers[1];
  await gpuWorker.stop('SIGKILL');
  workers.push(await startWorker(env, 'gpu'));
  const result = (await handle.result()) as TransferRunResult;
  assert.equal(result.chosenMethod, 'finetune');
  const report = await readJson<TransferReport>(testStore(config), transferKeys(id).reportJson);
  const finetune = report.methods[0];
  assert.match(finetune.resumedFrom ?? '', /^stage 1, epoch [1-3]$/);
  assert.equal(finetune.stages![0].history.length, 4, 'every epoch of stage 1 is recorded once');
});
