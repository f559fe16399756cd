// Registry bookkeeping without S3: replaying events, model names, the transfer default name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registryKeys, replay, sanitizeModelName, validModelName, type RegistryEvent } from '../../lib/store/registry';
import { transferModelName } from '../../cli/run';
import { modelEntry as entry } from '../registry-fixtures';


let seq = 0;
const event = (kind: RegistryEvent['kind'], runId: string): RegistryEvent => ({
  seq: ++seq,
  kind,
  at: `t${seq}`,
  by: 'someone',
  reason: `${kind} ${runId}`,
  requestId: `r${seq}`,
  subject: entry(runId),
  champion: null,
});

test('replay: promotions stack up, declined challengers change nothing, rollback pops', () => {
  seq = 0;
  const events = [event('promote', 'A'), event('declined', 'X'), event('promote', 'B'), event('promote', 'C')];
  const s1 = replay('m', events);
  assert.equal(s1.seq, 4);
  assert.equal(s1.champion?.runId, 'C');
  assert.deepEqual(s1.lineage.map((e) => e.runId), ['A', 'B', 'C']);
  assert.equal(s1.championSince?.seq, 4);

  const s2 = replay('m', [...events, event('rollback', 'C'), event('declined', 'Y')]);
  assert.equal(s2.champion?.runId, 'B');
  assert.equal(s2.championSince?.kind, 'rollback');
  assert.equal(s2.seq, 6);

  const s3 = replay('m', [...s2.events, event('rollback', 'B')]);
  assert.equal(s3.champion?.runId, 'A');
});

test('replay of nothing: no champion, seq 0', () => {
  const s = replay('m', []);
  assert.equal(s.seq, 0);
  assert.equal(s.champion, null);
  assert.equal(s.championSince, null);
});

test('model names: one key part, anything else is a clear error', () => {
  assert.equal(validModelName('lab-cnn-fashion-mnist'), 'lab-cnn-fashion-mnist');
  for (const bad of ['', 'a/b', '../x', '-lead', 'white space', 'x'.repeat(201)]) {
    assert.throws(() => validModelName(bad), (err: Error) => err.name === 'InvalidKeyError' && err.message.startsWith(`model name ${JSON.stringify(bad)} is invalid`), bad);
  }
  assert.throws(() => registryKeys('a/b'), /model name "a\/b" is invalid/);
});

test('event keys sort in seq order', () => {
  const k = registryKeys('m');
  assert.equal(k.event(7), 'registry/m/events/00000007.json');
  assert.ok(k.event(10) > k.event(9));
  assert.equal(k.champion, 'registry/m/champion.json');
});

test('transfer runs are named after their dataset folder, sanitised', () => {
  assert.equal(transferModelName('/data/hymenoptera_data/'), 'hymenoptera_data');
  assert.equal(transferModelName('s3://bucket/photos/My Cats & Dogs.tar.gz'), 'my-cats-dogs');
  assert.equal(transferModelName('/tmp/Flowers.zip'), 'flowers');
  assert.equal(sanitizeModelName('***', 'transfer'), 'transfer');
  assert.doesNotThrow(() => validModelName(sanitizeModelName('..weird..name..', 'x')));
});
