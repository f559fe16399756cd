// The artifact store against real MinIO: checksums, atomic publication, multipart, model I/O.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as tf from '@tensorflow/tfjs';
import { testConfig, testEnv, testStore } from './harness';
import { IntegrityError, NotFoundError, sha256Hex } from '../../lib/store/store';
import { s3ModelIO } from '../../lib/tf/s3-model-io';
import { buildLabCnn } from '../../lib/models/lab-cnn';

const store = testStore(testConfig(testEnv()));
const prefix = `test/store-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

test('bytes round-trip with their SHA-256 recorded', async () => {
  const bytes = randomBytes(1000);
  const stored = await store.putBytes(`${prefix}/a.bin`, bytes);
  assert.equal(stored.sha256, sha256Hex(bytes));
  assert.equal((await store.head(`${prefix}/a.bin`))?.sha256, stored.sha256);
  assert.deepEqual(Buffer.from(await store.getBytes(`${prefix}/a.bin`)), bytes);
});

test('content-addressed writes are idempotent', async () => {
  const bytes = randomBytes(100);
  const a = await store.putContent(`${prefix}/blobs`, bytes, '.bin');
  const b = await store.putContent(`${prefix}/blobs`, bytes, '.bin');
  assert.equal(a.key, `${prefix}/blobs/${sha256Hex(bytes)}.bin`);
  assert.deepEqual(a, b);
  assert.equal((await store.list(`${prefix}/blobs/`)).length, 1);
});

test('an object whose bytes do not match its recorded hash is refused', async () => {
  const key = `${prefix}/tampered.bin`;
  await store.putBytes(key, Buffer.from('original'));
  // Someone rewrites the bytes behind the store's back, keeping the old metadata.
  const recorded = (await store.head(key))!.sha256;
  await store.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: 'tampered', Metadata: { sha256: recorded } }));
  await assert.rejects(store.getBytes(key), (err: Error) => err instanceof IntegrityError && /SHA-256 mismatch/.test(err.message));
  const dest = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tl-store-')), 'out.bin');
  await assert.rejects(store.getFile(key, dest), IntegrityError);
  assert.equal(fs.existsSync(dest), false, 'no partial file is left under the final name');
  assert.deepEqual(fs.readdirSync(path.dirname(dest)), []);
});

test('objects without a recorded hash are refused', async () => {
  const key = `${prefix}/unhashed.bin`;
  await store.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: 'x' }));
  await assert.rejects(store.getBytes(key), IntegrityError);
});

test('missing objects are a NotFoundError naming the key', async () => {
  await assert.rejects(store.getBytes(`${prefix}/missing`), (err: Error) => err instanceof NotFoundError && err.message.includes(`${prefix}/missing`));
});

test('large files stream up in parts and back down verified', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-store-'));
  const src = path.join(dir, 'big.bin');
  fs.writeFileSync(src, randomBytes(20 * 1024 * 1024 + 123));
  const stored = await store.putFile(`${prefix}/big.bin`, src);
  const dest = path.join(dir, 'back.bin');
  const read = await store.getFile(`${prefix}/big.bin`, dest);
  assert.equal(read.sha256, stored.sha256);
  assert.equal(read.size, 20 * 1024 * 1024 + 123);
  assert.ok(fs.readFileSync(dest).equals(fs.readFileSync(src)));
});

test('a failed upload leaves nothing under the final key', async () => {
  const key = `${prefix}/never.bin`;
  const missing = path.join(os.tmpdir(), `tl-no-such-file-${Date.now()}`);
  await assert.rejects(store.putFile(key, missing));
  assert.equal(await store.head(key), undefined);
});

test('tfjs models save to and load from S3 (with optimizer state)', async () => {
  await tf.setBackend('cpu');
  const model = buildLabCnn(3);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
  await model.trainOnBatch(x, y);
  await model.save(s3ModelIO(store, `${prefix}/model`), { includeOptimizer: true });
  const loaded = await tf.loadLayersModel(s3ModelIO(store, `${prefix}/model`));
  assert.deepEqual((model.predict(x) as tf.Tensor).dataSync(), (loaded.predict(x) as tf.Tensor).dataSync());
  // Optimizer state came back too: one more identical step gives identical weights.
  await model.trainOnBatch(x, y);
  await loaded.trainOnBatch(x, y);
  assert.deepEqual(model.getWeights()[0].dataSync(), loaded.getWeights()[0].dataSync());
});

test('model.json whose weight paths escape its folder is refused', async () => {
  await store.putJson(`${prefix}/evil/model.json`, {
    modelTopology: {},
    weightsManifest: [{ paths: ['../../../datasets/secret.bin'], weights: [] }],
  });
  await assert.rejects(tf.loadLayersModel(s3ModelIO(store, `${prefix}/evil`)), /escapes the model's folder/);
});
