// The stack's generated secrets: MinIO's root credentials and, in TLS mode, its static KMS key.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { certificatePaths } from '../tls';
import type { S3Target } from '../probes';
import { StackLog, endpoints } from './layout';

export interface Credentials {
  accessKey: string;
  secretKey: string;
}

export function readCredentials(file: string): Credentials | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Credentials>;
    if (typeof parsed.accessKey === 'string' && typeof parsed.secretKey === 'string') {
      return { accessKey: parsed.accessKey, secretKey: parsed.secretKey };
    }
  } catch {
    /* missing or unreadable: treated as not generated */
  }
  return undefined;
}

/** MinIO root credentials for this install: random, generated once, kept 0600 next to the data. */
export function ensureCredentials(file: string, log: StackLog): Credentials {
  const existing = readCredentials(file);
  if (existing) {
    if ((fs.statSync(file).mode & 0o077) !== 0) {
      fs.chmodSync(file, 0o600);
      log(`minio: ${file} was readable by others; set its mode to 0600`);
    }
    return existing;
  }
  if (fs.existsSync(file)) throw new Error(`${file} exists but is not {"accessKey","secretKey"} JSON; fix or delete it`);
  // MinIO limits: access key 3-20 characters, secret key 8-40.
  const creds: Credentials = { accessKey: `tl-${randomBytes(8).toString('hex')}`, secretKey: randomBytes(30).toString('base64url') };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another `up` won the race: use what it wrote.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return ensureCredentials(file, log);
    throw err;
  }
  log(`minio: generated root credentials in ${file} (mode 0600)`);
  return creds;
}

/** A 256-bit key for MinIO's built-in KMS, generated once per install (0600), base64. */
export function ensureKmsKey(file: string, log: StackLog): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('base64');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  log(`minio: generated a server-side encryption key in ${file} (mode 0600)`);
  return key;
}

/**
 * Credentials for bucket operations. A MinIO that tl runs only knows its generated root credentials;
 * for any other, the explicit TL_S3_* ones come first (loadConfig already falls back to the generated ones).
 */
export function s3Target(config: Config, generated: Credentials | undefined, minioIsOurs: boolean): S3Target | undefined {
  const ep = endpoints(config);
  const useGenerated = minioIsOurs && generated !== undefined;
  const accessKeyId = useGenerated ? generated.accessKey : config.s3.accessKeyId || generated?.accessKey;
  const secretAccessKey = useGenerated ? generated.secretKey : config.s3.secretAccessKey || generated?.secretKey;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const caFile = ep.tls ? certificatePaths(config.stateDir).caCert : config.s3.caFile;
  return { endpoint: ep.s3Endpoint, region: config.s3.region, bucket: config.s3.bucket, accessKeyId, secretAccessKey, forcePathStyle: config.s3.forcePathStyle, ...(caFile ? { caFile } : {}) };
}

// ---- services ------------------------------------------------------------------------------

