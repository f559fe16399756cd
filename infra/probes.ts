// Health probes for the stack's services. Each returns quickly (short timeouts) and never throws,
// so callers can poll them while a server starts.
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import { Connection } from '@temporalio/client';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { TemporalConnectionOptions } from '../temporal/connection';

export interface Probe {
  ok: boolean;
  detail: string;
}

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

/** Resolves with an error message when nothing accepts TCP connections at host:port, else undefined. */
function tcpRefused(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[(.*)\]$/, '$1'), port });
    const done = (result: string | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(undefined)); // let the gRPC probe decide
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(message(err)));
  });
}

/** Temporal frontend answers gRPC (getSystemInfo) and knows the namespace the workers use. */
export async function probeTemporal(options: TemporalConnectionOptions, namespace: string, timeoutMs = 2_000): Promise<Probe> {
  const { address } = options;
  // gRPC keeps retrying a refused connection until its deadline; a plain TCP connect fails fast.
  const colon = address.lastIndexOf(':');
  const refused = await tcpRefused(address.slice(0, colon), Number(address.slice(colon + 1)), timeoutMs);
  if (refused) return { ok: false, detail: `gRPC ${address} not reachable: ${refused}` };
  let connection: Connection | undefined;
  try {
    // No interceptors: the default ones retry UNAVAILABLE, which would hide a dead server behind retries.
    connection = await Connection.connect({ ...options, connectTimeout: timeoutMs, interceptors: [] });
    const conn = connection;
    try {
      await conn.withDeadline(Date.now() + timeoutMs, () => conn.workflowService.describeNamespace({ namespace }));
    } catch (err) {
      return { ok: false, detail: `gRPC reachable, but namespace "${namespace}" is not usable: ${message(err)}` };
    }
    return { ok: true, detail: `gRPC ${address}, namespace "${namespace}" registered` };
  } catch (err) {
    return { ok: false, detail: `gRPC ${address} not reachable: ${message(err)}` };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** An HTTP GET answered with 200; `caFile` verifies an https server against a private CA. */
export async function probeHttp(url: string, timeoutMs = 2_000, caFile?: string): Promise<Probe> {
  if (caFile && url.startsWith('https:')) return probeHttpsWithCa(url, timeoutMs, caFile);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    await res.body?.cancel();
    return res.status === 200 ? { ok: true, detail: `GET ${url}: 200` } : { ok: false, detail: `GET ${url}: HTTP ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return { ok: false, detail: `GET ${url}: ${message(cause ?? err)}` };
  }
}

// fetch() takes no CA option, so a private CA goes through node:https.
function probeHttpsWithCa(url: string, timeoutMs: number, caFile: string): Promise<Probe> {
  return new Promise((resolve) => {
    let ca: Buffer;
    try {
      ca = fs.readFileSync(caFile);
    } catch (err) {
      resolve({ ok: false, detail: `GET ${url}: CA file ${caFile}: ${message(err)}` });
      return;
    }
    const req = https.get(url, { ca, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? { ok: true, detail: `GET ${url}: 200` } : { ok: false, detail: `GET ${url}: HTTP ${res.statusCode}` });
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err) => resolve({ ok: false, detail: `GET ${url}: ${message(err)}` }));
  });
}

export interface S3Target {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle?: boolean;
  caFile?: string;
}

function s3Client(t: S3Target): S3Client {
  const timeouts = { connectionTimeout: 2_000, requestTimeout: 5_000 };
  return new S3Client({
    endpoint: t.endpoint,
    region: t.region,
    forcePathStyle: t.forcePathStyle ?? true, // MinIO serves buckets as paths, not subdomains
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    maxAttempts: 2,
    requestHandler: t.caFile ? { ...timeouts, httpsAgent: new https.Agent({ ca: fs.readFileSync(t.caFile) }) } : timeouts,
  });
}

/** True/false when S3 answered; throws when it did not (unreachable, credentials rejected). */
export async function bucketExists(t: S3Target): Promise<boolean> {
  const client = s3Client(t);
  try {
    await client.send(new HeadBucketCommand({ Bucket: t.bucket }));
    return true;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    if (status === 403) throw new Error(`S3 ${t.endpoint} rejected the access key for bucket ${t.bucket} (HTTP 403)`);
    throw new Error(`S3 ${t.endpoint}: HeadBucket ${t.bucket} failed: ${message(err)}`);
  } finally {
    client.destroy();
  }
}

/** Creates the bucket unless it exists; returns whether it created it. */
export async function ensureBucket(t: S3Target): Promise<boolean> {
  if (await bucketExists(t)) return false;
  const client = s3Client(t);
  try {
    await client.send(new CreateBucketCommand({ Bucket: t.bucket }));
    return true;
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'BucketAlreadyOwnedByYou') return false; // created concurrently by another `up`
    throw new Error(`S3 ${t.endpoint}: CreateBucket ${t.bucket} failed: ${message(err)}`);
  } finally {
    client.destroy();
  }
}
