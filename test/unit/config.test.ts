import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, credentialsFile, ConfigError, SECRET_VARS } from '../../lib/config';
import { temporalConnectionOptions } from '../../temporal/connection';
import { encryptionParams } from '../../lib/store/s3-client';

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

test('credentials come from the environment, else from the file the stack generated, else the default chain', () => {
  const state = emptyState();
  assert.equal(loadConfig({ TL_STATE_DIR: state }).s3.credentialSource, 'default-chain');
  assert.throws(() => loadConfig({ TL_STATE_DIR: state, TL_S3_ACCESS_KEY: 'only-half' }), /TL_S3_SECRET_KEY is not set: TL_S3_ACCESS_KEY and TL_S3_SECRET_KEY go together/);
  fs.mkdirSync(path.dirname(credentialsFile(state)), { recursive: true });
  fs.writeFileSync(credentialsFile(state), JSON.stringify({ accessKey: 'generated', secretKey: 'generated-secret' }));
  assert.equal(loadConfig({ TL_STATE_DIR: state }).s3.accessKeyId, 'generated');
  assert.equal(loadConfig({ TL_STATE_DIR: state }).s3.credentialSource, 'stack');
  const explicit = loadConfig({ TL_STATE_DIR: state, TL_S3_ACCESS_KEY: 'mine', TL_S3_SECRET_KEY: 'my-secret-key' });
  assert.equal(explicit.s3.accessKeyId, 'mine');
  assert.equal(explicit.s3.secretAccessKey, 'my-secret-key');
});

test('Temporal TLS: unset is plaintext; files are checked at start and read at each connect', () => {
  const state = emptyState();
  assert.deepEqual(temporalConnectionOptions(loadConfig({ TL_STATE_DIR: state })), { address: '127.0.0.1:7233' });
  const ca = path.join(state, 'ca.pem');
  const crt = path.join(state, 'client.pem');
  const key = path.join(state, 'client-key.pem');
  fs.writeFileSync(ca, 'CA-1');
  fs.writeFileSync(crt, 'CRT-1');
  fs.writeFileSync(key, 'KEY-1');
  const env = { TL_STATE_DIR: state, TL_TEMPORAL_TLS_CA_FILE: ca, TL_TEMPORAL_TLS_CERT_FILE: crt, TL_TEMPORAL_TLS_KEY_FILE: key, TL_TEMPORAL_TLS_SERVER_NAME: 'temporal.example.com' };
  const config = loadConfig(env);
  const first = temporalConnectionOptions(config);
  assert.equal(first.tls?.serverRootCACertificate?.toString(), 'CA-1');
  assert.equal(first.tls?.serverNameOverride, 'temporal.example.com');
  assert.equal(first.tls?.clientCertPair?.crt.toString(), 'CRT-1');
  fs.writeFileSync(crt, 'CRT-2'); // rotated: the next connection reads the new one
  assert.equal(temporalConnectionOptions(config).tls?.clientCertPair?.crt.toString(), 'CRT-2');

  const bad: [NodeJS.ProcessEnv, RegExp][] = [
    [{ TL_TEMPORAL_TLS_CA_FILE: path.join(state, 'missing.pem') }, /TL_TEMPORAL_TLS_CA_FILE=".*missing.pem" is invalid: expected the path of a readable file/],
    [{ TL_TEMPORAL_TLS_CERT_FILE: crt }, /TL_TEMPORAL_TLS_KEY_FILE is not set: mutual TLS needs both/],
    [{ TL_TEMPORAL_TLS: 'maybe' }, /TL_TEMPORAL_TLS="maybe" is invalid/],
    [{ TL_TEMPORAL_TLS: '0', TL_TEMPORAL_TLS_CA_FILE: ca }, /TL_TEMPORAL_TLS=0 contradicts/],
    [{ TL_TEMPORAL_TLS_SERVER_NAME: 'not a host' }, /TL_TEMPORAL_TLS_SERVER_NAME="not a host" is invalid: expected a DNS host name/],
  ];
  for (const [extra, pattern] of bad) assert.throws(() => loadConfig({ TL_STATE_DIR: state, ...extra }), pattern);

  // An API key alone turns TLS on with the system roots (Temporal Cloud).
  const cloud = temporalConnectionOptions(loadConfig({ TL_STATE_DIR: state, TL_TEMPORAL_API_KEY: 'key-abcdefgh' }));
  assert.deepEqual(cloud, { address: '127.0.0.1:7233', tls: {}, apiKey: 'key-abcdefgh' });
});

test('S3 options: path-style by default, encryption on request, secrets are marked', () => {
  const state = emptyState();
  const plain = loadConfig({ TL_STATE_DIR: state });
  assert.equal(plain.s3.forcePathStyle, true);
  assert.deepEqual(encryptionParams(plain.s3), {});
  assert.equal(loadConfig({ TL_STATE_DIR: state, TL_S3_FORCE_PATH_STYLE: '0' }).s3.forcePathStyle, false);
  assert.deepEqual(encryptionParams(loadConfig({ TL_STATE_DIR: state, TL_S3_SSE: 'AES256' }).s3), { ServerSideEncryption: 'AES256' });
  assert.deepEqual(encryptionParams(loadConfig({ TL_STATE_DIR: state, TL_S3_SSE: 'aws:kms', TL_S3_SSE_KMS_KEY_ID: 'alias/tl' }).s3), {
    ServerSideEncryption: 'aws:kms',
    SSEKMSKeyId: 'alias/tl',
  });
  assert.throws(() => loadConfig({ TL_STATE_DIR: state, TL_S3_SSE: 'rot13' }), /TL_S3_SSE="rot13" is invalid/);
  assert.throws(() => loadConfig({ TL_STATE_DIR: state, TL_S3_SSE_KMS_KEY_ID: 'k' }), /TL_S3_SSE_KMS_KEY_ID is set but TL_S3_SSE=none/);
  assert.deepEqual([...SECRET_VARS].sort(), ['TL_S3_ACCESS_KEY', 'TL_S3_SECRET_KEY', 'TL_TEMPORAL_API_KEY']);
  // A wrong secret is named, never echoed.
  assert.throws(() => loadConfig({ TL_STATE_DIR: state, TL_S3_ACCESS_KEY: 'abc', TL_S3_SECRET_KEY: 'short' }), (err: Error) => {
    assert.match(err.message, /^TL_S3_SECRET_KEY=<5 characters> is invalid/);
    assert.ok(!err.message.includes('short'));
    return true;
  });
});

test('the feature-head memory budget: 1 GiB unless TL_FEATURE_MEMORY_BYTES says otherwise', () => {
  assert.equal(loadConfig({ TL_STATE_DIR: emptyState() }).featureMemoryBytes, 2 ** 30);
  assert.equal(loadConfig({ TL_STATE_DIR: emptyState(), TL_FEATURE_MEMORY_BYTES: '5000000' }).featureMemoryBytes, 5_000_000);
  for (const bad of ['0', '-1', '1.5', 'lots']) {
    assert.throws(() => loadConfig({ TL_STATE_DIR: emptyState(), TL_FEATURE_MEMORY_BYTES: bad }), /TL_FEATURE_MEMORY_BYTES=.* is invalid/, bad);
  }
});
