import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, credentialsFile, requireS3Credentials, ConfigError } from '../../lib/config';

const emptyState = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tl-config-'));

test('defaults point at the local stack', () => {
  const config = loadConfig({ TL_STATE_DIR: emptyState() });
  assert.equal(config.temporal.address, '127.0.0.1:7233');
  assert.equal(config.s3.endpoint, 'http://127.0.0.1:9000');
  assert.equal(config.s3.bucket, 'tl-artifacts');
  assert.equal(config.taskQueues.cpu, 'tl-cpu');
  assert.equal(config.backend, 'auto');
});

test('a bad value names the variable and what was expected', () => {
  const cases: [string, string, RegExp][] = [
    ['TL_TEMPORAL_ADDRESS', 'localhost', /TL_TEMPORAL_ADDRESS="localhost" is invalid: expected host:port/],
    ['TL_S3_ENDPOINT', 'minio:9000', /TL_S3_ENDPOINT="minio:9000" is invalid: expected an http\(s\) URL/],
    ['TL_S3_BUCKET', 'Bad_Bucket', /TL_S3_BUCKET="Bad_Bucket" is invalid: expected an S3 bucket name/],
    ['TL_BACKEND', 'cuda', /TL_BACKEND="cuda" is invalid/],
    ['TL_TEMPORAL_UI_PORT', '70000', /TL_TEMPORAL_UI_PORT="70000" is invalid/],
    ['TL_TASK_QUEUE_GPU', 'has space', /TL_TASK_QUEUE_GPU="has space" is invalid/],
  ];
  for (const [name, value, pattern] of cases) {
    assert.throws(() => loadConfig({ TL_STATE_DIR: emptyState(), [name]: value }), (err: Error) => {
      assert.ok(err instanceof ConfigError, name);
      assert.match(err.message, pattern);
      return true;
    });
  }
});

test('credentials come from the environment, else from the file the stack generated', () => {
  const state = emptyState();
  assert.throws(() => requireS3Credentials(loadConfig({ TL_STATE_DIR: state })), /no S3 credentials: set TL_S3_ACCESS_KEY/);
  fs.mkdirSync(path.dirname(credentialsFile(state)), { recursive: true });
  fs.writeFileSync(credentialsFile(state), JSON.stringify({ accessKey: 'generated', secretKey: 'generated-secret' }));
  assert.equal(loadConfig({ TL_STATE_DIR: state }).s3.accessKeyId, 'generated');
  const explicit = loadConfig({ TL_STATE_DIR: state, TL_S3_ACCESS_KEY: 'mine', TL_S3_SECRET_KEY: 'my-secret-key' });
  assert.equal(explicit.s3.accessKeyId, 'mine');
  assert.equal(explicit.s3.secretAccessKey, 'my-secret-key');
});
