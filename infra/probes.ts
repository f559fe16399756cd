// Health probes for the stack's services. Each returns quickly (short timeouts) and never throws,
// so callers can poll them while a server starts.
import * as net from 'node:net';
import { Connection } from '@temporalio/client';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

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
export async function probeTemporal(address: string, namespace: string, timeoutMs = 2_000): Promise<Probe> {
  // gRPC keeps retrying a refused connection until its deadline; a plain TCP connect fails fast.
  const colon = address.lastIndexOf(':');
  const refused = await tcpRefused(address.slice(0, colon), Number(address.slice(colon + 1)), timeoutMs);
  if (refused) return { ok: false, detail: `gRPC ${address} not reachable: ${refused}` };
  let connection: Connection | undefined;
  try {
    // No interceptors: the default ones retry UNAVAILABLE, which would hide a dead server behind retries.
    connection = await Connection.connect({ address, connectTimeout: timeoutMs, interceptors: [] });
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

/** An HTTP GET answered with 200. */
export async function probeHttp(url: string, timeoutMs = 2_000): Promise<Probe> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    await res.body?.cancel();
    return res.status === 200 ? { ok: true, detail: `GET ${url}: 200` } : { ok: false, detail: `GET ${url}: HTTP ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return { ok: false, detail: `GET ${url}: ${message(cause ?? err)}` };
  }
}

export interface S3Target {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function s3Client(t: S3Target): S3Client {
  return new S3Client({
    endpoint: t.endpoint,
    region: t.region,
    forcePathStyle: true, // MinIO serves buckets as paths, not subdomains
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
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
    if (status === 403) throw new Error(`S3 ${t.endpoint} rejected access key "${t.accessKeyId}" for bucket ${t.bucket} (HTTP 403)`);
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
