// `tl doctor` against the real stack: what is up is ok, a wrong endpoint fails with its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTl, startWorker, testEnv, waitFor } from './harness';
import type { Check } from '../../cli/doctor-check';

async function doctor(env: NodeJS.ProcessEnv): Promise<{ code: number; ok: boolean; checks: Map<string, Check> }> {
  const r = await runTl(['doctor', '--json'], env);
  const doc = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  return { code: r.code, ok: doc.ok, checks: new Map(doc.checks.map((c) => [c.name, c])) };
}

test('stack up: the stack checks pass, exit 0; a worker on the queue is seen polling', async () => {
  const env = testEnv();
  const before = await doctor(env);
  assert.equal(before.code, 0);
  assert.equal(before.ok, true);
  for (const name of ['temporal', 'namespace', 'temporal-ui', 'minio', 'credentials', 'bucket', 'backend cpu', 'cpu worker backend', 'gpu worker backend', 'disk']) {
    assert.equal(before.checks.get(name)?.status, 'ok', `${name}: ${JSON.stringify(before.checks.get(name))}`);
  }
  // This test's queues are its own: nobody polls them yet.
  assert.equal(before.checks.get('cpu workers')?.status, 'warn');
  assert.match(before.checks.get('cpu workers')!.fix!, /tl worker --queue cpu/);

  const worker = await startWorker(env);
  try {
    // The worker says it is serving just before its first poll reaches the server.
    const after = await waitFor('doctor to see the worker', async () => {
      const r = await doctor(env);
      return r.checks.get('cpu workers')?.status === 'ok' ? r : undefined;
    }, 30_000, 1000);
    assert.match(after.checks.get('cpu workers')!.detail, /polling tl-test-cpu-/);
    assert.equal(after.checks.get('gpu workers')?.status, 'warn');
  } finally {
    await worker.stop();
  }
});

test('a wrong TL_S3_ENDPOINT port: minio and bucket fail with the fix, exit 1', async () => {
  const env = testEnv({ TL_S3_ENDPOINT: 'http://127.0.0.1:59999' });
  const r = await doctor(env);
  assert.equal(r.code, 1);
  assert.equal(r.ok, false);
  assert.equal(r.checks.get('minio')?.status, 'fail');
  assert.match(r.checks.get('minio')!.fix!, /run `tl stack up`, or set TL_S3_ENDPOINT/);
  assert.equal(r.checks.get('bucket')?.status, 'fail');
  assert.equal(r.checks.get('temporal')?.status, 'ok', 'the other services are still checked');

  const human = await runTl(['doctor'], env);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /^fail +minio +GET http:\/\/127\.0\.0\.1:59999\/minio\/health\/live/m);
  assert.match(human.stdout, /^ +fix: run `tl stack up`, or set TL_S3_ENDPOINT/m);
  assert.match(human.stdout, /\d+ ok, \d+ warn, [1-9]\d* fail$/m);
});

test('Temporal unreachable: temporal and namespace fail, exit 1', async () => {
  const r = await doctor(testEnv({ TL_TEMPORAL_ADDRESS: '127.0.0.1:1' }));
  assert.equal(r.code, 1);
  assert.equal(r.checks.get('temporal')?.status, 'fail');
  assert.match(r.checks.get('temporal')!.fix!, /tl stack up/);
  assert.equal(r.checks.get('namespace')?.status, 'fail');
  assert.equal(r.checks.get('minio')?.status, 'ok');
});
