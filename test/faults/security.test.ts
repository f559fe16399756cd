// Secrets stay out of what Temporal and the reports keep; the servers listen on loopback only;
// MinIO's root credentials are generated per install, never MinIO's well-known defaults.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
import { runTl, startWorker, temporalClient, testStore, type WorkerProcess } from '../integration/harness';
import { configOf, faultEnv, readIfExists, serverPids } from './fault-stack';
import { credentialsFile, ENV_VARS } from '../../lib/config';

const env = faultEnv();
const config = configOf(env);
let worker: WorkerProcess;
let client: Client;
const secrets = [config.s3.accessKeyId, config.s3.secretAccessKey];

before(async () => {
  worker = await startWorker(env);
  client = await temporalClient(config);
  // One good run and one refused run of this file's own, besides what earlier files left.
  const ok = await runTl(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--id', `faults-secrets-${Date.now().toString(36)}`, '--wait'], env);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await runTl(['run', 'lab-cnn', '--source', `s3://${config.s3.bucket}/no/such/prefix`, '--wait'], env);
  assert.equal(bad.code, 1, bad.stderr);
});

after(async () => {
  await worker?.stop();
  await client?.connection.close();
});

function assertNoSecret(where: string, text: string): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} contains an S3 credential`);
}

test('no S3 credential in any workflow history, search attributes or memo', async () => {
  assert.ok(secrets.every((s) => s.length >= 8), 'the stack has generated credentials to look for');
  let runs = 0;
  for await (const w of client.workflow.list()) {
    const handle = client.workflow.getHandle(w.workflowId, w.runId);
    assertNoSecret(`history of ${w.workflowId}`, JSON.stringify(await handle.fetchHistory()));
    assertNoSecret(`search attributes of ${w.workflowId}`, JSON.stringify(w.searchAttributes ?? {}) + JSON.stringify(w.memo ?? {}));
    runs++;
  }
  console.log(`checked the histories of ${runs} workflow runs`);
  assert.ok(runs >= 2);
});

test('no S3 credential in worker output, the stack logs or any stored report', async () => {
  assertNoSecret('worker output', worker.output());
  const logs = path.join(config.stateDir, 'logs');
  for (const f of fs.readdirSync(logs)) assertNoSecret(`log ${f}`, readIfExists(path.join(logs, f)));
  const store = testStore(config);
  const reports = (await store.list('runs/')).filter((k) => k.includes('/report/'));
  assert.ok(reports.length >= 3);
  for (const key of reports) assertNoSecret(key, Buffer.from(await store.getBytes(key)).toString('utf8'));
});

/** Listening TCP sockets of a process, as [address, port], from /proc (no `ss` needed). */
function listeningSockets(pid: number): { address: string; port: number }[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' }) as string;
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]);
  }
  const out: { address: string; port: number }[] = [];
  for (const file of ['tcp', 'tcp6']) {
    for (const line of readIfExists(`/proc/${pid}/net/${file}`).split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue; // 0A = LISTEN
      const [hex, port] = f[1].split(':');
      out.push({ address: decodeAddress(hex), port: parseInt(port, 16) });
    }
  }
  return out;
}

/** /proc/net/tcp{,6} write addresses as host-order 32-bit words in hex. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse());
  if (words.length === 1) return [...words[0]].join('.');
  const bytes = Buffer.concat(words);
  if (bytes.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'))) return [...bytes.subarray(12)].join('.');
  return bytes.toString('hex').match(/.{4}/g)!.join(':').replace(/(^|:)0{1,3}/g, '$1');
}

test('Temporal and MinIO listen on loopback only', async () => {
  const pids = await serverPids(config);
  for (const [name, pid] of Object.entries(pids)) {
    const sockets = listeningSockets(pid);
    console.log(`${name} (pid ${pid}) listens on ${sockets.map((s) => `${s.address}:${s.port}`).join(', ')}`);
    assert.ok(sockets.length > 0, `${name} has listening sockets`);
    for (const s of sockets) {
      assert.ok(s.address.startsWith('127.') || s.address === '0000:0000:0000:0000:0000:0000:0000:1' || /^(0+:){7}0*1$/.test(s.address), `${name} listens on ${s.address}:${s.port}, not loopback`);
    }
  }
});

test('MinIO credentials are generated per install: not the defaults, mode 0600, another state dir has others', async () => {
  const file = credentialsFile(config.stateDir);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.notEqual(config.s3.accessKeyId, 'minioadmin');
  assert.notEqual(config.s3.secretAccessKey, 'minioadmin');
  assert.ok(config.s3.secretAccessKey.length >= 32, 'a long random secret');
  // MinIO refuses its well-known defaults.
  const guess = new S3Client({
    endpoint: config.s3.endpoint,
    region: config.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' },
    maxAttempts: 1,
  });
  await assert.rejects(guess.send(new ListBucketsCommand({})), (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403);
  guess.destroy();
  // The default state directory (another install on this machine) has credentials of its own.
  const other = credentialsFile(ENV_VARS.TL_STATE_DIR.default);
  if (fs.existsSync(other) && path.resolve(other) !== path.resolve(file)) {
    const theirs = JSON.parse(fs.readFileSync(other, 'utf8'));
    assert.notEqual(theirs.accessKey, config.s3.accessKeyId);
    assert.notEqual(theirs.secretKey, config.s3.secretAccessKey);
  }
});
