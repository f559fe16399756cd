// Only small JSON crosses workflow history: ingesting all 70,000 Fashion-MNIST images (60,000
// train + 10,000 test, 55 MB of pixels) adds no more than a few KB of payload to any one event.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Client } from '@temporalio/client';
import { startWorker, temporalClient, type WorkerProcess } from '../integration/harness';
import { tempDir } from '../temp-dirs';
import { configOf, faultEnv } from './fault-stack';
import { labOptions, startLab } from './runs';
import { FASHION_MNIST_FILES } from '../../lib/data/fashion-mnist';

const env = faultEnv();
const config = configOf(env);
let worker: WorkerProcess | undefined;
let client: Client | undefined;
/** The most payload one history event may carry (the README's "Faults and limits" states it). */
const MAX_EVENT_PAYLOAD = 8 * 1024;

after(async () => {
  await worker?.stop();
  await client?.connection.close();
});

/** Bytes of Temporal payloads (`{metadata, data}`) anywhere inside a value. */
function payloadBytes(value: unknown): number {
  if (!value || typeof value !== 'object') return 0;
  if (ArrayBuffer.isView(value)) return 0;
  const v = value as { metadata?: unknown; data?: unknown };
  if (v.metadata && v.data instanceof Uint8Array) return v.data.length;
  return Object.values(value).reduce<number>((n, x) => n + payloadBytes(x), 0);
}

test('a full 70,000-image ingestion puts at most a few KB per event into workflow history', async () => {
  worker = await startWorker(env);
  client = await temporalClient(config);
  // New gzip bytes for the same images: the ingestion really runs instead of hitting the cache.
  const source = tempDir('tl-faults-limits-');
  for (const name of Object.values(FASHION_MNIST_FILES)) {
    const content = zlib.gunzipSync(fs.readFileSync(path.join(config.fashionMnistDir, name)));
    fs.writeFileSync(path.join(source, name), zlib.gzipSync(content, { level: 2 }));
  }
  const handle = await startLab(client, config, `faults-limits-${Date.now().toString(36)}`, labOptions({ source, limit: 500, epochs: 2 }));
  const result = await handle.result();
  const history = await handle.fetchHistory();

  const rows = (history.events ?? []).map((e) => {
    const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? '?';
    return { id: Number(e.eventId), kind: kind.replace(/EventAttributes$/, ''), bytes: payloadBytes(e) };
  });
  const total = rows.reduce((n, r) => n + r.bytes, 0);
  const largest = [...rows].sort((a, b) => b.bytes - a.bytes).slice(0, 5);
  console.log(`history: ${rows.length} events, ${total} payload bytes in all; largest: ${largest.map((r) => `#${r.id} ${r.kind} ${r.bytes} B`).join(', ')}`);
  const ingestDone = rows.find((r) => r.kind === 'activityTaskCompleted')!;
  console.log(`the ingestion of 70,000 images returned ${ingestDone.bytes} bytes into history`);

  for (const r of rows) assert.ok(r.bytes <= MAX_EVENT_PAYLOAD, `event #${r.id} ${r.kind} carries ${r.bytes} payload bytes`);
  assert.ok(total < 64 * 1024, `the whole run's history carries ${total} payload bytes`);
  assert.ok(ingestDone.bytes < 2048, `the ingestion result is ${ingestDone.bytes} bytes`);
  assert.deepEqual(result.history.map((h) => h.epoch), [1, 2]);
});
