// The fault suite's own stack: scripts/test-faults.sh starts Temporal and MinIO on other ports and
// another state directory, because these tests stop and restart the servers. Tests refuse to run
// against the default stack, which other people and processes may be using.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ENV_VARS, loadConfig, type Config } from '../../lib/config';
import type { ArtifactStore } from '../../lib/store/store';
import { stackStatus, stackUp, stopService } from '../../infra/stack';
import { testEnv } from '../integration/harness';

const DEFAULT_ADDRESS = ENV_VARS.TL_TEMPORAL_ADDRESS.default;
const DEFAULT_S3 = ENV_VARS.TL_S3_ENDPOINT.default;

/** The suite's environment (unique task queues); throws unless a separate stack is configured. */
export function faultEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { TL_TEMPORAL_ADDRESS: temporal = DEFAULT_ADDRESS, TL_S3_ENDPOINT: s3 = DEFAULT_S3, TL_STATE_DIR: state } = process.env;
  if (temporal === DEFAULT_ADDRESS || s3 === DEFAULT_S3 || !state) {
    throw new Error(
      'the fault suite stops and restarts servers, so it runs only on a stack of its own: ' +
        'run `npm run test:faults` (scripts/test-faults.sh), not the default stack',
    );
  }
  return testEnv(extra);
}

const quiet = (): void => {};

/** Stops one server of the suite's stack. */
export async function stopServer(config: Config, name: 'temporal' | 'minio'): Promise<void> {
  await stopService(config, name, quiet);
  const status = await stackStatus(config);
  if ((name === 'temporal' ? status.temporal : status.minio).healthy) throw new Error(`${name} still answers after being stopped`);
}

/** Starts whatever of the suite's stack is not running (a no-op when all is up). */
export async function startServers(config: Config): Promise<void> {
  const status = await stackUp(config, quiet);
  // Another process may have taken a port while ours was down; its server is not our stack.
  for (const s of [status.temporal, status.minio]) {
    if (!s.startedByTl) throw new Error(`${s.name} at ${s.url} is not the fault suite's own server (${s.detail}); another stack took its port`);
  }
}

/** Pids of the suite's servers, from their pid files (via stackStatus). */
export async function serverPids(config: Config): Promise<{ temporal: number; minio: number }> {
  const status = await stackStatus(config);
  if (!status.temporal.pid || !status.minio.pid) throw new Error('the fault stack was not started by tl (no pid files)');
  return { temporal: status.temporal.pid, minio: status.minio.pid };
}

export function configOf(env: NodeJS.ProcessEnv): Config {
  return loadConfig(env);
}

/** Every object under a prefix with its ETag: a snapshot to compare before and after a refusal. */
export async function snapshot(store: ArtifactStore, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await store.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) out.set(o.Key, o.ETag ?? '');
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Keys whose object changed or vanished between two snapshots, and keys that appeared. */
export function diffSnapshots(before: Map<string, string>, after: Map<string, string>): { changed: string[]; added: string[] } {
  const changed = [...before].filter(([k, etag]) => after.get(k) !== etag).map(([k]) => k);
  const added = [...after.keys()].filter((k) => !before.has(k));
  return { changed, added };
}

/** Reads (and so SHA-256-verifies) every object under a prefix; returns how many. */
export async function verifyAll(store: ArtifactStore, prefix: string): Promise<number> {
  const keys = await store.list(prefix);
  for (const key of keys) await store.getBytes(key);
  return keys.length;
}

export const STATE_LOGS = (config: Config) => path.join(config.stateDir, 'logs');

export function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
