// The CLI's answers to bad input and to a stack that is down: one line, non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTl, testEnv } from './harness';

const oneLine = (s: string) => s.trim().split('\n').length === 1;

test('unknown flag: one line, usage exit code', async () => {
  const r = await runTl(['run', 'lab-cnn', '--epoch', '3'], testEnv());
  assert.equal(r.code, 2);
  assert.ok(oneLine(r.stderr), r.stderr);
  assert.match(r.stderr, /^tl: unknown option '--epoch'/);
});

test('invalid flag value names the flag', async () => {
  const r = await runTl(['run', 'lab-cnn', '--epochs', 'ten'], testEnv());
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tl: --epochs "ten" is invalid: expected an integer from 1 to 1000\n$/);
});

test('bad configuration names the variable', async () => {
  const r = await runTl(['runs', 'list'], testEnv({ TL_TEMPORAL_ADDRESS: 'nowhere' }));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tl: TL_TEMPORAL_ADDRESS="nowhere" is invalid: expected host:port/);
});

test('stack down: says so in one line and how to start it', async () => {
  const r = await runTl(['run', 'lab-cnn'], testEnv({ TL_TEMPORAL_ADDRESS: '127.0.0.1:1' }));
  assert.equal(r.code, 3);
  assert.ok(oneLine(r.stderr), r.stderr);
  assert.match(r.stderr, /^tl: Temporal is not reachable at 127\.0\.0\.1:1: the local stack is not running; start it with `tl stack up`/);
});

test('report of an unknown run', async () => {
  const r = await runTl(['report', 'no-such-run-123'], testEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tl: run no-such-run-123 has no report yet/);
  const bad = await runTl(['report', '../etc'], testEnv());
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /run id "\.\.\/etc" is invalid/);
});
