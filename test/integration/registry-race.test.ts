// The registry's conditional writes against the real MinIO: racing writers never lose an update.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { testConfig, testEnv, testStore } from './harness';
import { PreconditionFailedError } from '../../lib/store/store';
import { commitEvent, readChampionPointer, readRegistry, registryKeys } from '../../lib/store/registry';
import { modelEntry as entry } from '../registry-fixtures';

const store = testStore(testConfig(testEnv()));
const names: string[] = [];
const modelName = (what: string) => {
  const name = `test-${what}-${randomBytes(4).toString('hex')}`;
  names.push(name);
  return name;
};

after(async () => {
  for (const name of names) for (const key of await store.list(`${registryKeys(name).prefix}/`)) await store.delete(key);
});


test('MinIO honours If-None-Match and If-Match: of racing writers exactly one wins', async () => {
  const key = `${registryKeys(modelName('cond')).prefix}/probe.json`;
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.putJsonIf(key, { writer: i }, { ifNoneMatch: '*' })));
  const won = results.filter((r) => r.status === 'fulfilled');
  assert.equal(won.length, 1, JSON.stringify(results));
  for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));

  const read = await store.getJsonVersion(key, z.object({ writer: z.number() }));
  assert.ok(read);
  const replaced = await store.putJsonIf(key, { writer: 'next' }, { ifMatch: read.etag });
  assert.notEqual(replaced, read.etag);
  // The ETag read before that write is stale now: a writer holding it must lose.
  await assert.rejects(store.putJsonIf(key, { writer: 'stale' }, { ifMatch: read.etag }), PreconditionFailedError);
  assert.deepEqual((await store.getJsonVersion(key, z.unknown()))?.value, { writer: 'next' });
});

test('10 concurrent promotions: all 10 recorded, none lost, the pointer matches the last', async () => {
  const name = modelName('race');
  const runs = Array.from({ length: 10 }, (_, i) => `run-${i}`);
  const results = await Promise.all(
    runs.map((runId) => commitEvent(store, name, `req-${runId}`, () => ({ kind: 'promote', by: 'test', reason: `race ${runId}`, subject: entry(runId) }))),
  );
  const state = await readRegistry(store, name);
  assert.equal(state.events.length, 10);
  assert.deepEqual(state.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(state.events.map((e) => e.subject.runId).sort(), [...runs].sort());
  assert.deepEqual(results.map((r) => r.event.seq).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // Each event saw the champion before it, so the lineage is the commit order.
  assert.deepEqual(state.lineage.map((e) => e.runId), state.events.map((e) => e.subject.runId));

  const pointer = await readChampionPointer(store, name);
  assert.equal(pointer?.seq, 10);
  assert.equal(pointer?.champion?.runId, state.events[9].subject.runId);
});

test('a retried request is recorded once', async () => {
  const name = modelName('retry');
  const first = await commitEvent(store, name, 'same-request', () => ({ kind: 'promote', by: 'test', reason: 'first', subject: entry('a') }));
  const again = await commitEvent(store, name, 'same-request', () => ({ kind: 'promote', by: 'test', reason: 'again', subject: entry('b') }));
  assert.equal(again.event.seq, first.event.seq);
  assert.equal(again.event.reason, 'first');
  assert.equal((await readRegistry(store, name)).events.length, 1);
});

test('a refused request writes nothing', async () => {
  const name = modelName('refuse');
  await assert.rejects(
    commitEvent(store, name, 'r', () => {
      throw new Error('refused');
    }),
    /refused/,
  );
  assert.deepEqual(await store.list(`${registryKeys(name).prefix}/`), []);
});
