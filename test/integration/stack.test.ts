// Starts the real local stack in a temporary state dir on non-default ports (so a developer's own
// stack on 7233/8233/9000 is untouched), then checks up/status/idempotence/down.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { credentialsFile, loadConfig } from '../../lib/config';
import { stackDown, stackStatus, stackUp } from '../../infra/stack';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-stack-test-'));
const env = {
  TL_STATE_DIR: stateDir,
  TL_TEMPORAL_ADDRESS: '127.0.0.1:17233',
  TL_TEMPORAL_UI_PORT: '18233',
  TL_S3_ENDPOINT: 'http://127.0.0.1:19000',
  TL_S3_BUCKET: 'tl-stack-test',
};
// Read after `up`, so the generated credentials are picked up; never from the developer's environment.
const config = () => loadConfig(env);

const lines: string[] = [];
const log = (line: string) => {
  lines.push(line);
  if (process.env.TL_TEST_VERBOSE) console.log(`  ${line}`);
};

/** Already-built binaries: the developer's stack, else `go install`'s output dir. Avoids a rebuild (minutes). */
function seedBinaries(): string | undefined {
  const candidates = [path.join(loadConfig({}).stateDir, 'bin')];
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim();
    for (const p of gopath.split(path.delimiter)) if (p) candidates.push(path.join(p, 'bin'));
  } catch {
    /* no Go: only the developer's stack can provide binaries */
  }
  const binDir = path.join(stateDir, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  for (const name of ['temporal', 'minio']) {
    const from = candidates.map((dir) => path.join(dir, name)).find((f) => fs.existsSync(f));
    if (!from) return `no built ${name} in ${candidates.join(' or ')}; run \`tl stack up\` once first`;
    try {
      fs.linkSync(from, path.join(binDir, name)); // same filesystem: instant, no extra 400 MB
    } catch {
      fs.copyFileSync(from, path.join(binDir, name));
      fs.chmodSync(path.join(binDir, name), 0o755);
    }
  }
  return undefined;
}

const skip = seedBinaries();

/** Gone or a zombie (exited; this process may not have reaped it yet). */
function exited(pid: number): boolean {
  try {
    return /\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

after(async () => {
  if (!skip) await stackDown(config(), () => undefined).catch(() => undefined); // never leave servers behind
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test('stack up, status, idempotent up, down', { skip, timeout: 180_000 }, async (t) => {
  const t0 = Date.now();
  const up = await stackUp(config(), log);
  t.diagnostic(`up took ${Date.now() - t0} ms`);
  assert.doesNotMatch(lines.join('\n'), /go install/, 'binaries were seeded, so nothing should be built');

  for (const s of [up.temporal, up.temporalUi, up.minio]) {
    assert.equal(s.healthy, true, `${s.name}: ${s.detail}`);
    assert.equal(s.startedByTl, true, s.name);
    assert.ok(s.pid && s.pid > 1, `${s.name} has a pid`);
  }
  assert.equal(up.temporalUi.pid, up.temporal.pid, 'the UI is served by the Temporal process');
  assert.deepEqual(up.bucket, { name: 'tl-stack-test', exists: true });
  assert.match(lines.join('\n'), /registered search attributes TlPipeline, TlDataset, TlBackbone, TlStep, TlBestAccuracy, TlSchedule/);

  const status = await stackStatus(config());
  assert.equal(status.temporal.healthy && status.temporalUi.healthy && status.minio.healthy, true);
  assert.equal(status.temporal.pid, up.temporal.pid);
  assert.equal(status.minio.pid, up.minio.pid);

  // Second up: nothing restarted.
  lines.length = 0;
  const again = await stackUp(config(), log);
  assert.match(lines.join('\n'), /nothing to do/);
  assert.match(lines.join('\n'), /search attributes registered \(TlPipeline, /, 'a second up finds them and adds nothing');
  assert.equal(again.temporal.pid, up.temporal.pid);
  assert.equal(again.minio.pid, up.minio.pid);

  // The bucket exists for a client using the generated credentials, which are private to the user.
  const creds = JSON.parse(fs.readFileSync(credentialsFile(stateDir), 'utf8'));
  assert.equal(fs.statSync(credentialsFile(stateDir)).mode & 0o777, 0o600);
  assert.notEqual(creds.accessKey, 'minioadmin');
  assert.ok(creds.secretKey.length >= 32);
  const s3 = new S3Client({
    endpoint: env.TL_S3_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
  });
  try {
    await s3.send(new HeadBucketCommand({ Bucket: env.TL_S3_BUCKET }));
  } finally {
    s3.destroy();
  }
  assert.ok(fs.existsSync(path.join(stateDir, 'temporal', 'temporal.db')), 'history is kept in SQLite');

  await stackDown(config(), log);
  const down = await stackStatus(config());
  for (const s of [down.temporal, down.temporalUi, down.minio]) {
    assert.equal(s.healthy, false, `${s.name} still healthy after down`);
    assert.equal(s.pid, undefined);
  }
  assert.ok(!fs.existsSync(path.join(stateDir, 'run', 'temporal.pid')));
  assert.ok(!fs.existsSync(path.join(stateDir, 'run', 'minio.pid')));
  for (const pid of [up.temporal.pid!, up.minio.pid!]) assert.ok(exited(pid), `pid ${pid} still running`);
});

test('down never signals a process whose pid was recycled', { skip }, async () => {
  // A pid file naming a live process that is not our binary, as after a reboot or pid wrap-around.
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    fs.mkdirSync(path.join(stateDir, 'run'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'run', 'temporal.pid'), `${sleeper.pid}\n`);
    lines.length = 0;
    await stackDown(config(), log);
    assert.equal(sleeper.exitCode, null);
    assert.equal(sleeper.signalCode, null);
    assert.ok(!exited(sleeper.pid!), 'the unrelated process must survive');
    assert.match(lines.join('\n'), /stale pid file/);
    assert.ok(!fs.existsSync(path.join(stateDir, 'run', 'temporal.pid')));
  } finally {
    sleeper.kill();
  }
});
