// A fleet on hosts of its own (scripts/test-fleet.sh): the secured stack in one network namespace,
// workers on two others. A transfer run fine-tunes on one host, that host's link is cut, the
// activity times out on its heartbeat and resumes on the other host from its checkpoint. A worker
// with a client certificate from another CA is refused in one line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { REPO_ROOT, runTl, serverHeartbeat, temporalClient, testConfig, testEnv, testStore, waitFor, waitForTraining, readJson } from '../integration/harness';
import { cutLink, fleetHosts, startWorkerOn, type HostWorker } from './hosts';
import { issueForeignClientCertificate } from '../../infra/tls';
import { transferKeys } from '../../lib/transfer';
import { type TransferRunResult, TRANSFER_DEFAULTS } from '../../contracts';
import type { TransferReport } from '../../lib/report/transfer';
import type { transferLearning } from '../../workflows';
import type { FineTuneHeartbeat } from '../../activities/fine-tune';

const DATA = path.resolve(REPO_ROOT, '../shared/data/datasets/hymenoptera_data');
const BACKBONE = path.resolve(REPO_ROOT, '../shared/data/models/mobilenet_v1_0.25_224');
const hosts = fleetHosts();
const skip =
  hosts.length < 2
    ? 'run through npm run test:fleet (it makes the hosts)'
    : !fs.existsSync(DATA) || !fs.existsSync(BACKBONE)
      ? 'needs ../shared/data (hymenoptera_data and mobilenet_v1_0.25_224)'
      : false;

const env = testEnv();
const config = testConfig(env);
const workers: HostWorker[] = [];
let client: Client | undefined;

before(async () => {
  if (skip) return;
  assert.ok(config.temporal.tls?.clientCertFile, 'the fleet talks to the secured stack (TL_TEMPORAL_TLS_CERT_FILE)');
  client = await temporalClient(config);
});

after(async () => {
  for (const w of workers) await w.stop();
  await client?.connection.close();
});

test('multipart uploads are encrypted too', { skip }, async () => {
  assert.equal(config.s3.sse?.algorithm, 'AES256', 'the fleet runs with TL_S3_SSE=AES256');
  const store = testStore(config);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tl-sse-')), 'big.bin');
  fs.writeFileSync(file, Buffer.alloc(17 * 1024 * 1024, 7)); // above the multipart threshold
  const key = `fleet-tests/sse-${Date.now().toString(36)}.bin`;
  await store.putFile(key, file);
  const head = await store.s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
  assert.equal(head.ServerSideEncryption, 'AES256');
  assert.equal((await store.getBytes(key)).length, 17 * 1024 * 1024);
});

test('a worker with a certificate from another CA is refused, in one line', { skip }, async () => {
  const foreign = await issueForeignClientCertificate(fs.mkdtempSync(path.join(os.tmpdir(), 'tl-foreign-')));
  const err = await startWorkerOn(hosts[1]!, { ...env, TL_TEMPORAL_TLS_CERT_FILE: foreign.cert, TL_TEMPORAL_TLS_KEY_FILE: foreign.key }, 'gpu').then(
    (w) => {
      workers.push(w);
      throw new Error('the worker with a foreign certificate was let in');
    },
    (e: Error & { worker?: HostWorker }) => e,
  );
  const output = err.worker!.output();
  assert.notEqual(await err.worker!.exited, 0);
  const refusal = output.split('\n').filter((l) => l.startsWith('tl: '));
  assert.equal(refusal.length, 1, output);
  assert.match(refusal[0]!, /^tl: Temporal refused the connection: .* refused the client certificate \(TL_TEMPORAL_TLS_CERT_FILE\)/);

  // tl doctor says the same, and passes with the stack's own certificate.
  const doctor = async (extra: NodeJS.ProcessEnv) => {
    const r = await runTl(['doctor', '--json'], { ...env, ...extra });
    return new Map((JSON.parse(r.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks.map((c) => [c.name, c]));
  };
  const refused = await doctor({ TL_TEMPORAL_TLS_CERT_FILE: foreign.cert, TL_TEMPORAL_TLS_KEY_FILE: foreign.key });
  assert.equal(refused.get('temporal-tls')?.status, 'fail');
  assert.match(refused.get('temporal-tls')!.detail, /refused the client certificate/);
  const good = await doctor({});
  assert.equal(good.get('temporal-tls')?.status, 'ok', JSON.stringify(good.get('temporal-tls')));
  assert.match(good.get('temporal-tls')!.detail, /client certificate accepted/);
  assert.equal(good.get('TL_TEMPORAL_TLS_KEY_FILE')?.status, 'ok');
  assert.match(good.get('credentials')!.detail, /local stack's generated credentials/);
});

test('a transfer run survives a worker host losing its link mid fine-tuning', { skip }, async (t) => {
  const [first, second] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  // Workflows and CPU activities on both hosts; fine-tuning starts on the first host only.
  workers.push(await startWorkerOn(first, env, 'cpu'), await startWorkerOn(second, env, 'cpu'));
  const gpuFirst = await startWorkerOn(first, env, 'gpu');
  workers.push(gpuFirst);

  const id = `fleet-transfer-${Date.now().toString(36)}`;
  const stages = [
    { name: 'top', unfreeze: { topLayers: 20 }, epochs: 4, learningRate: 0.0001 },
    { name: 'head', unfreeze: 'head' as const, epochs: 1, learningRate: 0.001 },
  ];
  const handle = await client!.workflow.start<typeof transferLearning>('transferLearning', {
    taskQueue: config.taskQueues.cpu,
    workflowId: id,
    args: [{ options: { ...TRANSFER_DEFAULTS, data: DATA, backbone: BACKBONE, method: 'finetune', stages, patience: 10, seed: 11 }, gpuTaskQueue: config.taskQueues.gpu }],
  });
  await waitForTraining(handle, (p) => p.step === 'finetune' && p.detail?.message === 'stage top' && (p.detail?.epoch ?? 0) >= 2, 600_000);
  const beat = await waitFor(
    'a stage-1 checkpoint in the server-side heartbeat',
    async () => {
      const b = await serverHeartbeat<FineTuneHeartbeat>(handle, 'fineTune');
      return b?.checkpoint?.stage === 0 ? b : undefined;
    },
    120_000,
    200,
  );
  const { raw } = await handle.describe();
  const identity = raw.pendingActivities?.find((a) => a.activityType?.name === 'fineTune')?.lastWorkerIdentity ?? '';
  assert.ok(identity.startsWith(`${gpuFirst.child.pid}@`), `fine-tuning runs on ${first.ns} (worker ${identity})`);

  // The standby GPU worker on the second host, then the cable of the first is pulled.
  const gpuSecond = await startWorkerOn(second, env, 'gpu');
  workers.push(gpuSecond);
  cutLink(first);
  t.diagnostic(`cut ${first.ns}'s link at checkpoint stage ${(beat.checkpoint?.stage ?? 0) + 1}, epoch ${beat.checkpoint?.epoch}`);

  const result = (await handle.result()) as TransferRunResult;
  assert.equal(result.chosenMethod, 'finetune');
  const history = await handle.fetchHistory();
  const retried = history.events!.find((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1);
  assert.ok(retried, 'fine-tuning was retried after the heartbeat timeout');
  assert.ok(retried.activityTaskStartedEventAttributes!.identity?.startsWith(`${gpuSecond.child.pid}@`), `resumed on ${second.ns}`);
  const report = await readJson<TransferReport>(testStore(config), transferKeys(id).reportJson);
  const finetune = report.methods[0]!;
  assert.match(finetune.resumedFrom ?? '', /^stage 1, epoch [1-3]$/);
  assert.equal(finetune.stages![0]!.history.length, 4, 'every epoch of stage 1 is recorded once');
  // Server-side encryption on every PUT: the report (one PUT) and the model files.
  const store = testStore(config);
  for (const key of [transferKeys(id).reportJson, `${transferKeys(id).model}/model.json`]) {
    const head = await store.s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
    assert.equal(head.ServerSideEncryption, 'AES256', key);
  }
  t.diagnostic(`resumed on ${second.ns} from ${finetune.resumedFrom}; held-out accuracy ${result.heldOutAccuracy.toFixed(3)}`);
});
