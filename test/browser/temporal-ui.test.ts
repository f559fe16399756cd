// A real browser on the Temporal Web UI: a finished run is found through its search attributes in
// the workflows list, the way a person would look for it. Headless Chromium, loopback only.
// The screenshot is kept at test-output/temporal-ui-filtered.png for a person to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { REPO_ROOT, runTl, startWorker, testConfig, testEnv, type WorkerProcess } from '../integration/harness';

const CHROMIUM = process.env.TL_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT = path.join(REPO_ROOT, 'test-output', 'temporal-ui-filtered.png');

const env = testEnv();
const config = testConfig(env);
const id = `test-ui-${Date.now().toString(36)}`;
let worker: WorkerProcess;
let browser: Browser;

/** The workflows list of the UI with a visibility query in its `query` parameter. */
const listUrl = (query: string) =>
  `http://127.0.0.1:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(query)}`;

before(async () => {
  worker = await startWorker(env);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await worker?.stop();
});

test('the workflows list filtered by search attributes shows a finished run', { timeout: 300_000 }, async () => {
  const r = await runTl(['run', 'lab-cnn', '--limit', '500', '--epochs', '1', '--id', id, '--wait', '--json'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Block everything but the local UI: the test must not depend on the network.
  await page.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());

  await page.goto(listUrl('TlPipeline = "lab-cnn" AND TlStep = "done" AND TlBestAccuracy > 0'));
  await page.getByRole('link', { name: id, exact: true }).first().waitFor({ timeout: 30_000 });
  // The filter the UI applied is shown as chips above the list.
  await page.getByText('TlPipeline', { exact: false }).first().waitFor({ timeout: 5_000 });
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  assert.ok(fs.statSync(SCREENSHOT).size > 10_000, 'a screenshot with content');

  // The same list filtered on a step the run is not in does not show it.
  await page.goto(listUrl(`TlStep = "train" AND WorkflowId = "${id}"`));
  await page.getByText(/No Workflows|No results/i).first().waitFor({ timeout: 30_000 });
  assert.equal(await page.getByRole('link', { name: id, exact: true }).count(), 0);
});
