import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { doctorFailed, formatChecks } from '../../cli/doctor';
import { type Check } from '../../cli/doctor-check';
import { outputFormat } from '../../cli/report';
import { findOnPath } from '../../cli/system';
import { tempDir } from '../temp-dirs';

const checks: Check[] = [
  { name: 'temporal', status: 'ok', detail: 'reachable at 127.0.0.1:7233' },
  { name: 'minio', status: 'fail', detail: 'GET http://127.0.0.1:1/minio/health/live: connection refused', fix: 'run `tl stack up`' },
  { name: 'backend webgpu', status: 'warn', detail: 'does not load', fix: 'optional' },
];

test('doctor output: a line per check, the fix under problems, counts last', () => {
  const lines = formatChecks(checks).split('\n');
  assert.equal(lines.length, 3 + 2 + 1);
  assert.match(lines[0], /^ok {4}temporal {8}reachable/);
  assert.match(lines[1], /^fail {2}minio/);
  assert.match(lines[2], /^ {22}fix: run `tl stack up`$/);
  assert.equal(lines.at(-1), '1 ok, 1 warn, 1 fail');
});

test('doctor fails only on a fail, not on warnings', () => {
  assert.equal(doctorFailed(checks), true);
  assert.equal(doctorFailed(checks.filter((c) => c.status !== 'fail')), false);
});

test('report --out: .html/.htm are HTML, .md Markdown, anything else a usage error', () => {
  assert.equal(outputFormat('a/report.html'), 'html');
  assert.equal(outputFormat('R.HTM'), 'html');
  assert.equal(outputFormat('notes.md'), 'markdown');
  assert.throws(() => outputFormat('report.pdf'), (err: Error & { exitCode?: number }) => err.exitCode === 2 && /\.html or \.md/.test(err.message));
});

test('findOnPath finds executables only', () => {
  {
    const dir = tempDir('tl-doctor-');
    const exe = path.join(dir, 'opener');
    fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'plain'), 'x', { mode: 0o644 });
    assert.equal(findOnPath('opener', `/nonexistent${path.delimiter}${dir}`), exe);
    assert.equal(findOnPath('plain', dir), undefined);
    assert.equal(findOnPath('opener', ''), undefined);
  }
});
