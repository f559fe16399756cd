// The artifact store: every object in S3 carries its SHA-256 (metadata `sha256`),
// checked on every read. S3 makes an object visible only once its PUT (or the
// completion of its multipart upload) succeeds, so a reader never sees half an object
// under its final key; callers that publish several objects write the small pointer
// object (manifest, model.json) last.
import type { StoredObject } from '../../contracts';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import {
  S3Client,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  HeadBucketCommand,
  CreateBucketCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { z } from 'zod';
import type { Config } from '../config';
import { createS3Client, encryptionParams } from './s3-client';
import { BadInputError } from '../errors';

export class IntegrityError extends BadInputError {
  constructor(readonly key: string, expected: string, actual: string) {
    super(`s3 object ${key}: SHA-256 mismatch (recorded ${expected}, read ${actual}); the object is corrupt`);
    this.name = 'IntegrityError';
  }
}

export class NotFoundError extends BadInputError {
  constructor(readonly key: string) {
    super(`s3 object ${key} does not exist`);
    this.name = 'NotFoundError';
  }
}

export class InvalidKeyError extends BadInputError {
  constructor(part: string, why: string) {
    super(`invalid S3 key part ${JSON.stringify(part)}: ${why}`);
    this.name = 'InvalidKeyError';
  }
}

/** A conditional write found the object changed (or already there): re-read and try again. */
export class PreconditionFailedError extends Error {
  constructor(readonly key: string) {
    super(`s3 object ${key} was changed by another writer`);
    this.name = 'PreconditionFailedError';
  }
}

/** Condition for a write: `ifNoneMatch: '*'` creates only; `ifMatch` replaces only that version. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };


const KEY_PART = /^[A-Za-z0-9][A-Za-z0-9._=+-]{0,199}$/;

/** Joins validated parts into a key: user strings never reach S3 unchecked. */
export function artifactKey(...parts: string[]): string {
  for (const part of parts) {
    for (const segment of part.split('/')) {
      if (!KEY_PART.test(segment) || segment.includes('..')) {
        throw new InvalidKeyError(segment, 'expected letters, digits and . _ = + - (no empty or ".." segments)');
      }
    }
  }
  return parts.join('/');
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(filePath: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(filePath)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Above this size uploads go multipart (streamed in parts) instead of one PUT. */
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;

const jsonBytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2));
/**
 * A stored JSON record that is not what its reader expects: not JSON, or not of the record's
 * shape. Retrying cannot fix it, so it names the key and the first problems found.
 */
export class RecordFormatError extends BadInputError {
  constructor(key: string, what: string) {
    super(`${key}: ${what}`);
    this.name = 'RecordFormatError';
  }
}

/** Parses a record read from `key` and checks it against its schema: what S3 holds is never just cast. */
export function parseRecord<T>(key: string, bytes: Uint8Array, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RecordFormatError(key, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(the record)'}: ${i.message}`);
  const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : '';
  throw new RecordFormatError(key, `not a valid ${schema.description ?? 'record'}: ${issues.join('; ')}${more}`);
}

export const storedObjectSchema: z.ZodType<StoredObject> = z.object({ key: z.string(), sha256: z.string(), size: z.number() });

export class ArtifactStore {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
    /** Server-side encryption parameters added to every PUT (single and multipart). */
    readonly encryption: ReturnType<typeof encryptionParams> = {},
  ) {}

  static fromConfig(config: Config): ArtifactStore {
    return new ArtifactStore(createS3Client(config), config.s3.bucket, encryptionParams(config.s3));
  }

  s3Url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch {
      await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  /** Size and recorded SHA-256 of an object, or undefined when absent. */
  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, sha256: out.Metadata?.sha256 ?? '', size: Number(out.ContentLength ?? 0) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async putBytes(key: string, bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<StoredObject> {
    return (await this.put(key, bytes, contentType)).stored;
  }

  /** One PUT with the content's SHA-256 recorded, optionally conditional; returns the new ETag too. */
  private async put(key: string, bytes: Uint8Array, contentType: string, condition?: WriteCondition): Promise<{ stored: StoredObject; etag: string }> {
    const sha256 = sha256Hex(bytes);
    const precondition = !condition ? {} : 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: condition.ifNoneMatch };
    const out = await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, Metadata: { sha256 }, ...this.encryption, ...precondition }),
    );
    return { stored: { key, sha256, size: bytes.length }, etag: out.ETag ?? '' };
  }

  async putJson(key: string, value: unknown): Promise<StoredObject> {
    return this.putBytes(key, jsonBytes(value), 'application/json');
  }

  /**
   * Writes JSON only if the condition holds (S3 conditional PUT), so concurrent writers
   * cannot overwrite each other; the loser gets PreconditionFailedError. Returns the new ETag.
   */
  async putJsonIf(key: string, value: unknown, condition: WriteCondition): Promise<string> {
    try {
      return (await this.put(key, jsonBytes(value), 'application/json', condition)).etag;
    } catch (err) {
      // 409: S3's answer while another conditional write to the key is in flight.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) throw new PreconditionFailedError(key);
      throw err;
    }
  }

  /** JSON and the ETag it was read at (for a later `putJsonIf`), or undefined when absent. */
  async getJsonVersion<T>(key: string, schema: z.ZodType<T>): Promise<{ value: T; etag: string } | undefined> {
    let read: { bytes: Uint8Array; etag: string };
    try {
      read = await this.getVerified(key);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    return { value: parseRecord(key, read.bytes, schema), etag: read.etag };
  }

  /** Streams a file up (multipart when large); the hash is computed first so it can be recorded. */
  async putFile(key: string, filePath: string, contentType = 'application/octet-stream'): Promise<StoredObject> {
    const { size: onDisk } = await fs.promises.stat(filePath);
    if (onDisk < MULTIPART_THRESHOLD) {
      return this.putBytes(key, await fs.promises.readFile(filePath), contentType); // one read, hashed there
    }
    const { sha256, size } = await sha256File(filePath);
    const upload = new Upload({
      client: this.s3,
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
      params: { Bucket: this.bucket, Key: key, Body: fs.createReadStream(filePath), ContentType: contentType, Metadata: { sha256 }, ...this.encryption },
    });
    await upload.done();
    return { key, sha256, size };
  }

  /**
   * Stores bytes under a key derived from their hash (`<prefix>/<sha256><ext>`).
   * Writing the same content twice is a no-op, which makes retried activities idempotent.
   */
  async putContent(prefix: string, bytes: Uint8Array, ext = '', contentType?: string): Promise<StoredObject> {
    const sha256 = sha256Hex(bytes);
    const key = `${prefix}/${sha256}${ext}`;
    const existing = await this.head(key);
    if (existing && existing.sha256 === sha256) return existing;
    return this.putBytes(key, bytes, contentType);
  }

  private async getObject(key: string) {
    try {
      return await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(key);
      throw err;
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    return (await this.getVerified(key)).bytes;
  }

  /** The object's bytes, checked against their recorded SHA-256, and the ETag they were read at. */
  private async getVerified(key: string): Promise<{ bytes: Uint8Array; etag: string }> {
    const out = await this.getObject(key);
    const bytes = await out.Body!.transformToByteArray();
    verify(key, out.Metadata?.sha256, sha256Hex(bytes));
    return { bytes, etag: out.ETag ?? '' };
  }

  /** A JSON record, checked against its schema (a RecordFormatError names what is wrong). */
  async getJson<T>(key: string, schema: z.ZodType<T>): Promise<T> {
    return parseRecord(key, await this.getBytes(key), schema);
  }

  /** Streams an object to a file, verifying its hash; the file appears only once verified. */
  async getFile(key: string, destination: string): Promise<StoredObject> {
    const out = await this.getObject(key);
    await fs.promises.mkdir(path.dirname(destination), { recursive: true });
    const partial = `${destination}.partial-${process.pid}`;
    const hash = createHash('sha256');
    let size = 0;
    const body = out.Body as Readable;
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    try {
      await pipeline(body, fs.createWriteStream(partial));
      const sha256 = hash.digest('hex');
      verify(key, out.Metadata?.sha256, sha256);
      await fs.promises.rename(partial, destination);
      return { key, sha256, size };
    } catch (err) {
      await fs.promises.rm(partial, { force: true });
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

function verify(key: string, recorded: string | undefined, actual: string): void {
  if (!recorded) throw new IntegrityError(key, '(none)', actual);
  if (recorded !== actual) throw new IntegrityError(key, recorded, actual);
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
