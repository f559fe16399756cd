// How every tl process reaches Temporal: the CLI's client, the workers' native connection,
// the stack's probes and the tests all build their options here, so TLS, mutual TLS and API keys
// behave the same everywhere. Certificate files are read at each call, so a rotated certificate
// is picked up by the next connection without a restart.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../lib/config';

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

export class CertificateFileError extends Error {
  constructor(variable: string, file: string, cause: string) {
    super(`${variable}=${file} cannot be read: ${cause}`);
    this.name = 'CertificateFileError';
  }
}

function readPem(variable: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CertificateFileError(variable, file, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
}

/** Options for Connection.connect / NativeConnection.connect (both take the same three). */
export function temporalConnectionOptions(config: Pick<Config, 'temporal'>): TemporalConnectionOptions {
  const { address, tls, apiKey } = config.temporal;
  if (!tls) return { address };
  const tlsConfig: TLSConfig = {};
  if (tls.caFile) tlsConfig.serverRootCACertificate = readPem('TL_TEMPORAL_TLS_CA_FILE', tls.caFile);
  if (tls.serverName) tlsConfig.serverNameOverride = tls.serverName;
  if (tls.clientCertFile && tls.clientKeyFile) {
    tlsConfig.clientCertPair = {
      crt: readPem('TL_TEMPORAL_TLS_CERT_FILE', tls.clientCertFile),
      key: readPem('TL_TEMPORAL_TLS_KEY_FILE', tls.clientKeyFile),
    };
  }
  return apiKey ? { address, tls: tlsConfig, apiKey } : { address, tls: tlsConfig };
}

/** One line for logs: how the connection is secured, never the secrets themselves. */
export function describeTemporalSecurity(config: Pick<Config, 'temporal'>): string {
  const { tls, apiKey } = config.temporal;
  if (!tls) return 'plaintext';
  const parts = ['TLS'];
  if (tls.clientCertFile) parts.push('client certificate');
  if (apiKey) parts.push('API key');
  return parts.join(' + ');
}

/**
 * After a failed connect over TLS: a plain TLS handshake with the same settings, to say in one line
 * what went wrong (certificate refused, unknown server CA, wrong name) instead of a gRPC transport
 * error. Undefined when the handshake succeeds (the failure is elsewhere).
 */
export async function diagnoseTls(options: TemporalConnectionOptions, timeoutMs = 5_000): Promise<string | undefined> {
  if (!options.tls) return undefined;
  const { tls: tlsOptions, address } = options;
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const servername = tlsOptions.serverNameOverride ?? (net.isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({
        host,
        port: Number(address.slice(colon + 1)),
        ...(servername ? { servername } : {}),
        ...(tlsOptions.serverRootCACertificate ? { ca: Buffer.from(tlsOptions.serverRootCACertificate) } : {}),
        ...(tlsOptions.clientCertPair ? { cert: Buffer.from(tlsOptions.clientCertPair.crt), key: Buffer.from(tlsOptions.clientCertPair.key) } : {}),
        ALPNProtocols: ['h2'],
        timeout: timeoutMs,
      });
    } catch (err) {
      // Refused before any connection: the key does not belong to the certificate, a PEM is malformed.
      resolve(`the TLS settings cannot be used: ${(err as Error).message} (check TL_TEMPORAL_TLS_CERT_FILE and TL_TEMPORAL_TLS_KEY_FILE)`);
      return;
    }
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    // TLS 1.3 reports a refused client certificate only after the handshake, on the first read.
    socket.once('secureConnect', () => setTimeout(() => done(undefined), 300));
    socket.once('timeout', () => done(`no TLS handshake with ${address} within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      // Not reachable at all is not a TLS problem: the caller's own message says so.
      done(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'].includes(err.code ?? '') ? undefined : explainTlsError(address, err, Boolean(tlsOptions.clientCertPair))),
    );
    // A server that verifies clients closes right after a TLS 1.3 handshake it did not like.
    socket.once('end', () =>
      done(
        tlsOptions.clientCertPair
          ? `${address} refused the client certificate (TL_TEMPORAL_TLS_CERT_FILE): the server does not trust the CA that signed it`
          : `${address} requires a client certificate: set TL_TEMPORAL_TLS_CERT_FILE and TL_TEMPORAL_TLS_KEY_FILE`,
      ),
    );
  });
}

function explainTlsError(address: string, err: NodeJS.ErrnoException, sentCertificate: boolean): string {
  const text = err.message.split('\n')[0] ?? '';
  const code = err.code ?? '';
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate required|decrypt error)|ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_REQUIRED)/i.test(text + code)) {
    return sentCertificate
      ? `${address} refused the client certificate (TL_TEMPORAL_TLS_CERT_FILE): it is not signed by a CA the server trusts (${text})`
      : `${address} requires a client certificate: set TL_TEMPORAL_TLS_CERT_FILE and TL_TEMPORAL_TLS_KEY_FILE (${text})`;
  }
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED/.test(code)) {
    return `the certificate of ${address} is not signed by a trusted CA: set TL_TEMPORAL_TLS_CA_FILE to its CA (${code})`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the certificate of ${address} does not carry that name: set TL_TEMPORAL_TLS_SERVER_NAME to a name it does carry (${text})`;
  }
  if (code === 'CERT_HAS_EXPIRED') return `the certificate of ${address} has expired (${text})`;
  return `TLS handshake with ${address} failed: ${text}`;
}

/** A connection that failed, with the one-line reason a TLS handshake gave (when it was TLS). */
export class TemporalConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalConnectError';
  }
}

/** Connects with `connect`; on failure over TLS, throws TemporalConnectError with the handshake's reason. */
export async function connectWithDiagnosis<T>(options: TemporalConnectionOptions, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    const why = await diagnoseTls(options);
    if (why) throw new TemporalConnectError(`Temporal refused the connection: ${why}`);
    throw err;
  }
}
