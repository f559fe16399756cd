// --json through bin/tl: one JSON document on stdout, errors as {"error", "exitCode"} with the
// right exit code. One tiny lab-CNN run feeds the report checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTl, startWorker, testEnv, TL_BIN, waitFor, type WorkerProcess } from './harness';
import { tempDir } from '../temp-dirs';
import type { RunReport } from '../../lib/report/lab-cnn';
import { assertWellFormed } from '../unit/markup-check';

const env = testEnv();
const id = `test-cli-json-${Date.now().toString(36)}`;
let worker: WorkerProcess;

before(async () => {
  worker = await startWorker(env);
});
after(async () => {
  await worker?.stop();
});

/** Runs tl and parses its stdout as exactly one JSON document. */
async function tlJson<T = Record<string, unknown>>(args: string[], e = env): Promise<{ code: number; doc: T; stderr: string }> {
  const r = await runTl(args, e);
  let doc: T;
  try {
    doc = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout of tl ${args.join(' ')} is not one JSON document:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

test('run lab-cnn --wait --json, then report --json / --out / --open', async () => {
  const run = await tlJson(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--id', id, '--wait', '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.doc.runId, id);
  assert.ok(typeof run.doc.testAccuracy === 'number' && run.doc.testAccuracy > 0.1);
  assert.deepEqual(Object.keys(run.doc.reportKeys as object).sort(), ['html', 'json', 'markdown']);

  const rep = await tlJson<{ runId: string; keys: Record<string, string>; report: RunReport }>(['report', id, '--json']);
  assert.equal(rep.code, 0, rep.stderr);
  assert.equal(rep.doc.keys.html, `runs/${id}/report/report.html`);
  const data = rep.doc.report;
  assert.equal(data.runId, id);
  assert.deepEqual(data.steps?.map((s) => s.step), ['ingest', 'train', 'evaluate']);
  assert.ok(data.steps!.every((s) => typeof s.seconds === 'number' && s.seconds >= 0 && s.activities === 1));
  assert.ok(typeof data.steps![1].wallSeconds === 'number', 'workflow wall time next to worker time');
  assert.deepEqual(data.cache?.map((c) => c.step), ['ingest', 'train']);
  assert.match(data.cache![0].key!, /^datasets\/fashion-mnist\/manifests\/[0-9a-f]{64}\.json$/);
  for (const k of ['backend', 'tfjs', 'node', 'sharp', 'libvips', 'cores', 'seed']) assert.ok(k in data.environment, `environment.${k}`);
  // One epoch on 475 images leaves plenty of mistakes: the grid is full.
  assert.equal(data.misclassified?.length, 24);

  const dir = tempDir('tl-report-');
  const htmlFile = path.join(dir, 'r.html');
  const saved = await tlJson<{ file: string; format: string }>(['report', id, '--out', htmlFile, '--json']);
  assert.equal(saved.code, 0, saved.stderr);
  assert.deepEqual([saved.doc.file, saved.doc.format], [htmlFile, 'html']);
  const html = fs.readFileSync(htmlFile, 'utf8');
  assertWellFormed(html);
  assert.ok(Buffer.byteLength(html) < 1.5 * 1024 ** 2, `report is ${Buffer.byteLength(html)} bytes`);
  assert.ok(!/https?:\/\//.test(html) && !/<script|<link/i.test(html), 'nothing fetched from the network');
  const cards = [...html.matchAll(/<figure class="mis"><img src="data:image\/png;base64,[^"]+" alt="([^"]+)">.*?<strong class="true">(.*?)<\/strong>.*?<span class="pred">(.*?)<\/span>/g)];
  assert.equal(cards.length, 24, 'a thumbnail per misclassified image');
  cards.forEach(([, name, truth, predicted], i) => {
    assert.equal(name, data.misclassified![i].name);
    assert.equal(truth, data.misclassified![i].trueClass.replace(/&/g, '&amp;'));
    assert.equal(predicted, data.misclassified![i].predictedClass.replace(/&/g, '&amp;'));
    assert.notEqual(truth, predicted);
  });
  for (const h of ['Learning curves', 'Confusion matrix', 'Misclassified test images', 'Cache decisions', 'Timings per step']) assert.ok(html.includes(`<h2>${h}</h2>`), h);

  const md = await runTl(['report', id, '--out', path.join(dir, 'r.md')], env);
  assert.equal(md.code, 0, md.stderr);
  assert.match(fs.readFileSync(path.join(dir, 'r.md'), 'utf8'), /^# Lab CNN on fashion-mnist\n/);

  // No opener on PATH: the file is still written and the command says where it is.
  const noOpener = { ...env, PATH: tempDir('tl-empty-path-') };
  const open = await runTl(['report', id, '--open', '--out', path.join(dir, 'o.html')], noOpener);
  assert.equal(open.code, 0, open.stderr);
  assert.match(open.stdout, /no opener found \(xdg-open is not on PATH\): open .*o\.html in a browser/);
  assert.ok(fs.existsSync(path.join(dir, 'o.html')));
  const openJson = await tlJson(['report', id, '--open', '--out', path.join(dir, 'p.html'), '--json'], noOpener);
  assert.equal(openJson.doc.opener, null);

  // An xdg-open on PATH is handed the saved file (here a stand-in that records its argument).
  const bin = tempDir('tl-opener-');
  const opened = path.join(bin, 'opened.txt');
  fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > ${opened}\n`, { mode: 0o755 });
  const withOpener = await tlJson<{ file: string; opener: string }>(['report', id, '--open', '--json'], { ...env, PATH: bin });
  assert.equal(withOpener.code, 0, withOpener.stderr);
  assert.equal(withOpener.doc.opener, path.join(bin, 'xdg-open'));
  assert.match(withOpener.doc.file, new RegExp(`tl-reports/${id}\\.html$`));
  const handedOver = await waitFor('the opener to run', async () => (fs.existsSync(opened) ? fs.readFileSync(opened, 'utf8').trim() : undefined), 10_000, 100);
  assert.equal(handedOver, withOpener.doc.file);
});

test('errors in JSON mode: {"error", "exitCode"} on stdout and the same exit code', async () => {
  const missing = await tlJson<{ error: string; exitCode: number }>(['report', 'no-such-run-json', '--json']);
  assert.equal(missing.code, 1);
  assert.deepEqual(Object.keys(missing.doc).sort(), ['error', 'exitCode']);
  assert.match(missing.doc.error, /^run no-such-run-json has no report yet/);
  assert.equal(missing.doc.exitCode, 1);
  assert.equal(missing.stderr, '');

  const usage = await tlJson<{ error: string; exitCode: number }>(['run', 'lab-cnn', '--epoch', '3', '--json']);
  assert.equal(usage.code, 2);
  assert.match(usage.doc.error, /unknown option '--epoch'/);

  const badOut = await tlJson<{ error: string }>(['report', 'x', '--out', 'x.pdf', '--json']);
  assert.equal(badOut.code, 2);
  assert.match(badOut.doc.error, /--out "x\.pdf": expected a file name ending in \.html or \.md/);

  const down = await tlJson<{ error: string; exitCode: number }>(['run', 'lab-cnn', '--json'], testEnv({ TL_TEMPORAL_ADDRESS: '127.0.0.1:1' }));
  assert.equal(down.code, 3);
  assert.equal(down.doc.exitCode, 3);
  assert.match(down.doc.error, /tl stack up/);

  const config = await tlJson<{ error: string }>(['report', 'x', '--json'], testEnv({ TL_S3_BUCKET: 'Bad_Bucket' }));
  assert.equal(config.code, 2);
  assert.match(config.doc.error, /^TL_S3_BUCKET="Bad_Bucket" is invalid/);
});

test('predict --json: a model without class names is an error document', async () => {
  const img = path.join(tempDir('tl-predict-'), 'x.png');
  fs.writeFileSync(img, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'));
  const r = await tlJson<{ error: string; exitCode: number }>(['predict', '--model', id, img, '--json']);
  assert.equal(r.code, 1);
  assert.match(r.doc.error, /has no class names/);
});

test('stack status and stack up (a no-op here) --json', async () => {
  for (const args of [['stack', 'status', '--json'], ['stack', 'up', '--json']]) {
    const r = await tlJson<Record<string, { healthy?: boolean; exists?: boolean }>>(args, { ...process.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc.temporal.healthy, true);
    assert.equal(r.doc.minio.healthy, true);
    assert.equal(r.doc.bucket.exists, true);
  }
});

test('worker --json: one document once it serves, logs on stderr', async () => {
  const e = testEnv();
  const child = spawn(process.execPath, [TL_BIN, 'worker', '--queue', 'gpu', '--json'], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const doc = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no JSON within 60 s:\n${stdout}\n${stderr}`)), 60_000);
      child.stdout.on('data', () => {
        try {
          const parsed = JSON.parse(stdout);
          clearTimeout(timer);
          resolve(parsed);
        } catch {
          /* not complete yet */
        }
      });
    });
    assert.equal(doc.taskQueue, e.TL_TASK_QUEUE_GPU);
    assert.equal(doc.queue, 'gpu');
    // Which backend, and why the faster ones were passed over (a GPU queue worker tries the CUDA build first).
    const backend = doc.backend as { name: string; candidate: string; description: string; passedOver: { name: string; reason: string }[] };
    assert.ok(['tensorflow', 'webgpu', 'wasm', 'cpu'].includes(backend.name), backend.name);
    assert.equal(typeof backend.description, 'string');
    if (backend.candidate !== 'tensorflow-gpu') assert.equal(backend.passedOver[0]?.name, 'tensorflow-gpu');
    for (const p of backend.passedOver) assert.ok(p.reason, `${p.name} says why`);
    assert.equal(doc.pid, child.pid);
    assert.match(stderr, /worker serving task queue/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
