// Backbones from S3 (real MinIO) and over http(s), against the same model from its folder:
// same hash, same features; and the loader's refusals from those sources.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { testConfig, testEnv, testStore } from './harness';
import { loadBackbone } from '../../lib/models/backbone';
import { ModelFormatError } from '../../lib/tf/model-io';
import { s3ModelIO } from '../../lib/tf/s3-model-io';
import { buildLabCnn } from '../../lib/models/lab-cnn';

const V1 = path.resolve(__dirname, '../../../../shared/data/models/mobilenet_v1_0.25_224');
const skip = fs.existsSync(path.join(V1, 'model.json')) ? false : `the shared backbone is absent (${V1}); it comes with the ../shared/data checkout`;

const store = testStore(testConfig(testEnv()));
const prefix = `test/backbone-io-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const modelJson = () => JSON.parse(fs.readFileSync(path.join(V1, 'model.json'), 'utf8'));
const shards = () => fs.readdirSync(V1).filter((f) => f.startsWith('mobilenet_group'));

/** Two structured 224×224 RGB images. */
const pixels = Uint8Array.from({ length: 2 * 224 * 224 * 3 }, (_, i) => (i * 7 + (i >> 10)) % 256);

async function featuresOf(source: string): Promise<{ sha256: string; features: Float32Array }> {
  const b = await loadBackbone(source, { store });
  const features = tf.tidy(() => (b.body.predict(b.preprocess(pixels, 2)) as tf.Tensor).dataSync() as Float32Array);
  b.full.dispose();
  return { sha256: b.spec.sha256, features };
}

/** Serves files from a map of URL path → bytes; records every request. */
async function serve(files: Map<string, Buffer>) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

after(async () => {
  for (const key of await store.list(`${prefix}/`)) await store.delete(key);
});

test('a backbone uploaded to S3 loads via s3:// with the same hash and features as from its folder', { skip }, async () => {
  await tf.setBackend('cpu');
  for (const f of ['model.json', ...shards()]) await store.putBytes(`${prefix}/v1/${f}`, fs.readFileSync(path.join(V1, f)));
  const local = await featuresOf(V1);
  const s3 = await featuresOf(`s3://${store.bucket}/${prefix}/v1`);
  assert.equal(s3.sha256, local.sha256);
  assert.deepEqual(s3.features, local.features);
  const viaFile = await featuresOf(`s3://${store.bucket}/${prefix}/v1/model.json`);
  assert.equal(viaFile.sha256, local.sha256);
});

test('a backbone served over http loads via its URL with the same hash and features', { skip }, async () => {
  await tf.setBackend('cpu');
  const files = new Map(['model.json', ...shards()].map((f) => [`/models/v1/${f}`, fs.readFileSync(path.join(V1, f))]));
  const server = await serve(files);
  try {
    const local = await featuresOf(V1);
    const remote = await featuresOf(`${server.base}/models/v1/model.json`);
    assert.equal(remote.sha256, local.sha256);
    assert.deepEqual(remote.features, local.features);
    assert.equal((await featuresOf(`${server.base}/models/v1/`)).sha256, local.sha256, 'a folder URL means its model.json');
    assert.equal(server.requests.length, 2 * (1 + shards().length));
  } finally {
    await server.close();
  }
});

test("a model.json whose weight paths leave the model's folder is refused, without reading them", { skip }, async () => {
  await tf.setBackend('cpu');
  const evil = modelJson();
  evil.weightsManifest[0].paths = ['../v1/mobilenet_group1-shard1of1'];
  await store.putJson(`${prefix}/evil/model.json`, evil);
  await assert.rejects(loadBackbone(`s3://${store.bucket}/${prefix}/evil`, { store }), (err: Error) => {
    assert.ok(err instanceof ModelFormatError);
    assert.equal(err.message, `model s3://${store.bucket}/${prefix}/evil/model.json: weights path "../v1/mobilenet_group1-shard1of1" escapes the model's folder`);
    return true;
  });

  const files = new Map<string, Buffer>([['/evil/model.json', Buffer.from(JSON.stringify(evil))]]);
  const encoded = modelJson();
  encoded.weightsManifest[0].paths = ['%2e%2e/secret']; // must stay a file name inside the folder
  files.set('/encoded/model.json', Buffer.from(JSON.stringify(encoded)));
  files.set('/secret', Buffer.from('not a weight'));
  const server = await serve(files);
  try {
    await assert.rejects(loadBackbone(`${server.base}/evil/model.json`, { store }), /evil\/model\.json: weights path "\.\.\/v1\/mobilenet_group1-shard1of1" escapes the model's folder/);
    await assert.rejects(loadBackbone(`${server.base}/encoded/model.json`, { store }), /weights file "%2e%2e\/secret" listed in model\.json does not exist/);
    assert.deepEqual(server.requests, ['/evil/model.json', '/encoded/model.json', '/encoded/%252e%252e/secret']);
  } finally {
    await server.close();
  }
});

test('a missing shard is refused naming the model and the file', { skip }, async () => {
  await tf.setBackend('cpu');
  const missing = 'mobilenet_group29-shard1of1'; // conv_pw_13's kernel
  for (const f of ['model.json', ...shards().filter((s) => s !== missing)]) await store.putBytes(`${prefix}/partial/${f}`, fs.readFileSync(path.join(V1, f)));
  await assert.rejects(loadBackbone(`s3://${store.bucket}/${prefix}/partial`, { store }), (err: Error) => {
    assert.ok(err instanceof ModelFormatError);
    assert.match(err.message, new RegExp(`^model s3://${store.bucket}/${prefix}/partial/model.json: weights file "${missing}" listed in model.json does not exist \\(holds [a-z_0-9]+/`));
    return true;
  });

  const files = new Map(['model.json', ...shards().filter((s) => s !== missing)].map((f) => [`/partial/${f}`, fs.readFileSync(path.join(V1, f))]));
  const server = await serve(files);
  try {
    await assert.rejects(loadBackbone(`${server.base}/partial/model.json`, { store }), new RegExp(`^ModelFormatError: model ${server.base}/partial/model.json: weights file "${missing}" listed in model.json does not exist`));
  } finally {
    await server.close();
  }
});

test('a lab CNN saved by a run (runs/<id>/model) is a backbone: cut at flatten, [0,1] scaling', async () => {
  await tf.setBackend('cpu');
  const modelPrefix = `${prefix}/runs/lab/model`;
  await buildLabCnn(5).save(s3ModelIO(store, modelPrefix)); // as trainLabCnn saves it
  const b = await loadBackbone(`s3://${store.bucket}/${modelPrefix}`, { store });
  assert.deepEqual([b.spec.cutLayer, b.spec.scaling, b.spec.channels, b.spec.featureDim], ['flatten', 'zeroTo1', 1, 1568]);
  assert.deepEqual(b.spec.inputSize, [28, 28]);
});
