// The visibility queries behind `tl runs list` filters and the schedule duration parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { runsQuery, startSearchAttributes, TL_SCHEDULE, TL_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { formatDuration, parseDuration, validScheduleName } from '../../cli/schedule';

test('runsQuery: pipeline workflows only, every filter ANDed', () => {
  assert.equal(runsQuery({}), 'WorkflowType IN ("trainLabCnn", "transferLearning")');
  assert.equal(
    runsQuery({ status: 'timed-out', pipeline: 'lab-cnn', schedule: 'nightly.v2' }),
    'WorkflowType IN ("trainLabCnn", "transferLearning") AND ExecutionStatus = "TimedOut" AND TlPipeline = "lab-cnn" AND TlSchedule = "nightly.v2"',
  );
});

test('runsQuery: values that could break out of the quotes are refused', () => {
  assert.throws(() => runsQuery({ schedule: 'a" OR TlPipeline != "x' }), /TlSchedule filter .* is invalid/);
  assert.throws(() => runsQuery({ status: 'sleeping' as never }), /status "sleeping" is invalid/);
});

test('scheduled runs carry the schedule name; hand-started ones do not', () => {
  const names = (labels: Parameters<typeof startSearchAttributes>[0]) => startSearchAttributes(labels).map((p) => p.key.name);
  assert.deepEqual(names({ pipeline: 'lab-cnn', dataset: 'd' }), ['TlPipeline', 'TlDataset', 'TlStep']);
  const scheduled = startSearchAttributes({ pipeline: 'transfer', dataset: 'd', backbone: 'b', schedule: 'nightly' });
  assert.equal(scheduled.find((p) => p.key.name === TL_SCHEDULE.name)?.value, 'nightly');
});

test('schedule durations: units required, whole seconds, at least 1s', () => {
  assert.equal(parseDuration('--every', '2m'), 120_000);
  assert.equal(parseDuration('--every', '24h'), 86_400_000);
  assert.equal(parseDuration('--every', '1.5h'), 5_400_000);
  for (const bad of ['10', '0s', '-5m', '1.5s', 'soon', '']) {
    assert.throws(() => parseDuration('--every', bad), /--every ".*" is invalid: expected a duration/, bad);
  }
  assert.deepEqual(['90s', '2m', '36h', '24h'].map((d) => formatDuration(parseDuration('--every', d))), ['90s', '2m', '36h', '1d']);
});

test('schedule names are plain words', () => {
  assert.equal(validScheduleName('nightly-retrain_2'), 'nightly-retrain_2');
  for (const bad of ['', '-x', 'a b', 'a/b', 'x'.repeat(101)]) assert.throws(() => validScheduleName(bad), /schedule name .* is invalid/);
});

test('the Docker stack registers every search attribute with its type', () => {
  const compose = parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'infra', 'docker-compose.yml'), 'utf8'));
  const command = compose.services.temporal.command as string[];
  const registered = command.flatMap((arg, i) => (command[i - 1] === '--search-attribute' ? [arg] : []));
  const typeName = { KEYWORD: 'Keyword', DOUBLE: 'Double' } as Record<string, string>;
  assert.deepEqual(registered.sort(), TL_SEARCH_ATTRIBUTES.map((k) => `${k.name}=${typeName[k.type]}`).sort());
});
