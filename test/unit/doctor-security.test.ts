// tl doctor's certificate checks on real certificates (made with openssl, as `tl stack up --tls` does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certificateCheck, securityChecks } from '../../cli/doctor-security';
import { ensureStackCertificates, issueForeignClientCertificate } from '../../infra/tls';
import { loadConfig } from '../../lib/config';

const quiet = () => {};
const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tl-doctor-tls-'));

test('certificates: valid ones pass, a short-lived one warns, a non-certificate fails', async () => {
  const stack = await ensureStackCertificates(temp(), ['127.0.0.1'], quiet);
  assert.equal(certificateCheck('TL_TEMPORAL_TLS_CA_FILE', stack.caCert).check.status, 'ok');
  assert.match(certificateCheck('TL_TEMPORAL_TLS_CERT_FILE', stack.clientCert).check.detail, /CN=tl-worker, valid until/);
  const foreign = await issueForeignClientCertificate(temp());
  const soon = certificateCheck('TL_TEMPORAL_TLS_CERT_FILE', foreign.cert).check;
  assert.equal(soon.status, 'warn');
  assert.match(soon.detail, /expires in [01] days/);
  const expired = certificateCheck('TL_TEMPORAL_TLS_CERT_FILE', foreign.cert, Date.now() + 10 * 24 * 3600 * 1000).check;
  assert.equal(expired.status, 'fail');
  assert.match(expired.detail, /expired/);
  const notPem = certificateCheck('TL_TEMPORAL_TLS_CA_FILE', foreign.key).check;
  assert.equal(notPem.status, 'fail');
  assert.match(notPem.fix!, /point TL_TEMPORAL_TLS_CA_FILE at a PEM certificate/);
});

test('a key that is not the certificate\'s, and a client certificate from another CA of the same name', async () => {
  const ours = await ensureStackCertificates(temp(), ['127.0.0.1'], quiet);
  const theirs = await ensureStackCertificates(temp(), ['127.0.0.1'], quiet); // same CA name, other key
  const state = temp();
  const checks = await securityChecks(
    loadConfig({
      TL_STATE_DIR: state,
      TL_TEMPORAL_ADDRESS: '127.0.0.1:1',
      TL_TEMPORAL_TLS_CA_FILE: ours.caCert,
      TL_TEMPORAL_TLS_CERT_FILE: theirs.clientCert,
      TL_TEMPORAL_TLS_KEY_FILE: ours.clientKey,
      TL_S3_ACCESS_KEY: 'AKIAEXAMPLE',
      TL_S3_SECRET_KEY: 'do-not-print-me',
    }),
  );
  const by = new Map(checks.map((c) => [c.name, c]));
  assert.equal(by.get('TL_TEMPORAL_TLS_KEY_FILE')?.status, 'fail');
  assert.match(by.get('TL_TEMPORAL_TLS_KEY_FILE')!.detail, /is not the key of/);
  assert.equal(by.get('client certificate CA')?.status, 'fail');
  assert.equal(by.get('temporal-tls')?.status, 'fail', 'nothing listens on port 1');
  assert.equal(by.get('credentials')?.detail, 'from TL_S3_ACCESS_KEY / TL_S3_SECRET_KEY');
  const printed = JSON.stringify(checks);
  assert.ok(!printed.includes('do-not-print-me') && !printed.includes('AKIAEXAMPLE'), 'no credential in the output');
});

test('plaintext to a remote frontend is a warning; to loopback it is fine', async () => {
  const state = temp();
  const remote = await securityChecks(loadConfig({ TL_STATE_DIR: state, TL_TEMPORAL_ADDRESS: 'temporal.example.com:7233', TL_S3_ACCESS_KEY: 'abc', TL_S3_SECRET_KEY: 'abcdefgh' }));
  assert.equal(remote.find((c) => c.name === 'temporal-tls')?.status, 'warn');
  const local = await securityChecks(loadConfig({ TL_STATE_DIR: state, TL_S3_ACCESS_KEY: 'abc', TL_S3_SECRET_KEY: 'abcdefgh' }));
  assert.equal(local.find((c) => c.name === 'temporal-tls')?.status, 'ok');
});
