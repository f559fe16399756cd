// `tl doctor`'s security checks: how Temporal is reached (TLS, client certificate, API key), the
// certificates involved (readable, not expired, key matching, signed by the CA that is named), a
// real handshake, and where the S3 credentials come from. Names sources and files, never secrets.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import type { Config } from '../lib/config';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { describeCredentialSource } from '../lib/store/s3-client';
import { diagnoseTls, temporalConnectionOptions } from '../temporal/connection';
import type { Check } from './doctor-check';

const DAY_MS = 24 * 3600 * 1000;
const WARN_DAYS = 14;
const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const bad = (status: 'warn' | 'fail', name: string, detail: string, fix: string): Check => ({ name, status, detail, fix });

function readCertificate(file: string): X509Certificate | string {
  try {
    return new X509Certificate(fs.readFileSync(file));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]!;
  }
}

/** Expiry of one certificate file, named by its variable. */
export function certificateCheck(variable: string, file: string, now = Date.now()): { check: Check; cert?: X509Certificate } {
  const cert = readCertificate(file);
  if (typeof cert === 'string') return { check: bad('fail', variable, `${file}: not a readable PEM certificate (${cert})`, `point ${variable} at a PEM certificate`) };
  const expires = Date.parse(cert.validTo);
  const days = Math.floor((expires - now) / DAY_MS);
  const subject = cert.subject.replace(/\n/g, ', ');
  if (Date.parse(cert.validFrom) > now) return { cert, check: bad('fail', variable, `${subject}: not valid before ${cert.validFrom}`, 'check the clock, or issue a certificate valid now') };
  if (expires <= now) return { cert, check: bad('fail', variable, `${subject}: expired ${cert.validTo}`, `renew it (the local stack: delete ${file} and run tl stack up --tls)`) };
  if (days < WARN_DAYS) return { cert, check: bad('warn', variable, `${subject}: expires in ${days} days (${cert.validTo})`, 'renew it before it expires') };
  return { cert, check: ok(variable, `${subject}, valid until ${cert.validTo}`) };
}

async function temporalChecks(config: Config): Promise<Check[]> {
  const { tls: settings, apiKey, address } = config.temporal;
  if (!settings) {
    const loopback = /^(127\.|localhost:|\[::1\]:)/.test(address);
    return [
      loopback
        ? ok('temporal-tls', 'plaintext to a loopback frontend (TL_TEMPORAL_TLS_* unset)')
        : bad('warn', 'temporal-tls', `plaintext to ${address}: history and credentials in payload metadata cross the network unencrypted`, 'set TL_TEMPORAL_TLS=1 (with TL_TEMPORAL_TLS_CA_FILE for a private CA, TL_TEMPORAL_TLS_CERT_FILE/KEY_FILE for mutual TLS)'),
    ];
  }
  const checks: Check[] = [];
  let ca: X509Certificate | undefined;
  if (settings.caFile) {
    const r = certificateCheck('TL_TEMPORAL_TLS_CA_FILE', settings.caFile);
    checks.push(r.check);
    ca = r.cert;
    if (ca && !ca.ca) checks.push(bad('warn', 'TL_TEMPORAL_TLS_CA_FILE', `${settings.caFile} is not a CA certificate`, "point it at the CA that signed the frontend's certificate"));
  }
  if (settings.clientCertFile && settings.clientKeyFile) {
    const r = certificateCheck('TL_TEMPORAL_TLS_CERT_FILE', settings.clientCertFile);
    checks.push(r.check);
    if (r.cert) {
      try {
        const key = createPrivateKey(fs.readFileSync(settings.clientKeyFile));
        if (!r.cert.checkPrivateKey(key)) checks.push(bad('fail', 'TL_TEMPORAL_TLS_KEY_FILE', `${settings.clientKeyFile} is not the key of ${settings.clientCertFile}`, 'use the key the client certificate was issued for'));
        else checks.push(ok('TL_TEMPORAL_TLS_KEY_FILE', 'matches the client certificate'));
      } catch (err) {
        checks.push(bad('fail', 'TL_TEMPORAL_TLS_KEY_FILE', `${settings.clientKeyFile}: not a readable private key (${(err as Error).message.split('\n')[0]})`, 'point it at the PEM private key'));
      }
      // Where client and server share a CA (the local stack, most private PKIs) the signature tells.
      if (ca && r.cert.issuer === ca.subject && !r.cert.verify(ca.publicKey)) {
        checks.push(bad('fail', 'client certificate CA', `${settings.clientCertFile} names ${ca.subject.replace(/\n/g, ', ')} as issuer but is not signed by the CA in TL_TEMPORAL_TLS_CA_FILE`, 'issue the client certificate from that CA (or point TL_TEMPORAL_TLS_CA_FILE at the right one)'));
      }
    }
  }
  let options;
  try {
    options = temporalConnectionOptions(config);
  } catch (err) {
    return [...checks, bad('fail', 'temporal-tls', (err as Error).message, 'fix the file the variable names')];
  }
  const handshake = await peerCertificate(options);
  if (typeof handshake === 'string') {
    const why = (await diagnoseTls(options)) ?? handshake;
    checks.push(bad('fail', 'temporal-tls', why, 'see the message: the CA (TL_TEMPORAL_TLS_CA_FILE), the name (TL_TEMPORAL_TLS_SERVER_NAME) or the client certificate (TL_TEMPORAL_TLS_CERT_FILE/KEY_FILE)'));
  } else {
    const days = Math.floor((Date.parse(handshake.valid_to) - Date.now()) / DAY_MS);
    const what = [settings.clientCertFile ? 'client certificate accepted' : 'no client certificate', apiKey ? 'API key set' : ''].filter(Boolean).join(', ');
    checks.push(
      days < WARN_DAYS
        ? bad('warn', 'temporal-tls', `handshake with ${address} ok, but its certificate expires in ${days} days`, 'renew the frontend certificate')
        : ok('temporal-tls', `handshake with ${address} ok (${what}); server certificate valid until ${handshake.valid_to}`),
    );
  }
  return checks;
}

/** The server certificate seen in a verified handshake, or why there was none. */
function peerCertificate(options: ReturnType<typeof temporalConnectionOptions>): Promise<tls.PeerCertificate | string> {
  const colon = options.address.lastIndexOf(':');
  const host = options.address.slice(0, colon);
  const t = options.tls!;
  return new Promise((resolve) => {
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({
        host,
        port: Number(options.address.slice(colon + 1)),
        ...(t.serverNameOverride || !/^[\d.]+$/.test(host) ? { servername: t.serverNameOverride ?? host } : {}),
        ...(t.serverRootCACertificate ? { ca: Buffer.from(t.serverRootCACertificate) } : {}),
        ...(t.clientCertPair ? { cert: Buffer.from(t.clientCertPair.crt), key: Buffer.from(t.clientCertPair.key) } : {}),
        ALPNProtocols: ['h2'],
        timeout: 5_000,
      });
    } catch (err) {
      resolve((err as Error).message); // e.g. a key that is not the certificate's
      return;
    }
    const done = (r: tls.PeerCertificate | string) => {
      socket.destroy();
      resolve(r);
    };
    // A refused client certificate shows as the server closing right after the handshake.
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      setTimeout(() => done(peer), 300);
    });
    socket.once('end', () => done('the server closed the connection after the handshake'));
    socket.once('timeout', () => done('no TLS handshake within 5 s'));
    socket.once('error', (err) => done(err.message.split('\n')[0]!));
  });
}

async function s3Checks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  const source = describeCredentialSource(config);
  if (config.s3.credentialSource === 'default-chain') {
    try {
      await Promise.race([defaultProvider()(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5_000).unref())]);
      checks.push(ok('credentials', `from ${source}`));
    } catch (err) {
      checks.push(
        bad('fail', 'credentials', `none: TL_S3_ACCESS_KEY/TL_S3_SECRET_KEY unset, no local stack credentials, and ${source} found nothing (${(err as Error).message.split('\n')[0]})`, 'run `tl stack up`, set TL_S3_ACCESS_KEY and TL_S3_SECRET_KEY, or give the process an AWS identity (AWS_PROFILE, IRSA, instance role)'),
      );
    }
  } else {
    checks.push(ok('credentials', `from ${source}`));
  }
  if (config.s3.caFile) checks.push(certificateCheck('TL_S3_CA_FILE', config.s3.caFile).check);
  if (config.s3.endpoint.startsWith('http:') && !/^http:\/\/(127\.|localhost[:/])/.test(config.s3.endpoint)) {
    checks.push(bad('warn', 's3-tls', `${config.s3.endpoint} is plain http beyond loopback`, 'use an https endpoint'));
  }
  return checks;
}

export async function securityChecks(config: Config): Promise<Check[]> {
  const [temporal, s3] = await Promise.all([temporalChecks(config), s3Checks(config)]);
  return [...temporal, ...s3];
}
