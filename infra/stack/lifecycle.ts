// The local stack's lifecycle (up, down, status): Temporal dev server (gRPC + Web UI, history in SQLite) and MinIO, both bound to
// 127.0.0.1, started as detached processes that outlive the CLI. This module is the only place that
// knows how those servers start; see infra/docker-compose.yml for the container equivalent.
//
// Layout under <stateDir>:
//   bin/temporal, bin/minio          pinned binaries (infra/install.ts)
//   temporal/temporal.db             Temporal history, survives restarts
//   minio/data/, minio/credentials.json (0600, generated once per install)
//   logs/temporal.log, logs/minio.log
//   run/temporal.pid, run/minio.pid  written only for processes tl started
//   tls/                             with --tls: CA, server and client certificates, nginx.conf, tl.env
//
// The secured stack (--tls / TL_STACK_TLS=1) runs the same servers: MinIO serves HTTPS with the
// stack's certificate, and the dev server (which has no TLS option) listens on loopback only, behind
// nginx's stream module, which terminates TLS, requires a client certificate from the stack's CA and
// passes the gRPC bytes through. nginx comes from Debian (nginx + libnginx-mod-stream): a real,
// widely run TLS terminator that installs in seconds, where the full Temporal server would take a
// long Go build.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { certificatePaths, ensureStackCertificates } from '../tls';
import { ensureInstalled } from '../install';
import { ensureSearchAttributes } from '../search-attributes';
import { bucketExists, ensureBucket, type Probe, probeHttp, probeTemporal, type S3Target } from '../probes';
import {
  isProcessOf,
  logTail,
  pidFileState,
  portInUse,
  removePidFile,
  type Started,
  startDetached,
  stopProcess,
} from '../processes';
import { readCredentials, s3Target } from './credentials';
import { BIND_IP, READY_TIMEOUT_MS, ServiceStatus, StackLog, StackStatus, endpoints, layout, requireLocalEndpoints, sleep } from './layout';
import { Service, minioService, nginxBinary, stackTemporalOptions, temporalService, tlsFrontendService, writeClientEnv } from './services';

async function waitReady(svc: Service, pid: number, started: Started | undefined, log: StackLog): Promise<void> {
  const t0 = Date.now();
  let nextNote = t0 + 10_000;
  for (;;) {
    const probe = await svc.probeAll();
    if (probe.ok) {
      log(`${svc.name}: healthy after ${((Date.now() - t0) / 1000).toFixed(1)} s (${probe.detail})`);
      return;
    }
    const exit = started?.exit();
    if (exit || !isProcessOf(pid, svc.binary)) {
      removePidFile(svc.pidFile);
      const how = exit ? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`) : 'unknown status';
      throw new Error(`${svc.name} (pid ${pid}) exited during start-up (${how}). Read ${svc.logFile}; its last lines:\n${logTail(svc.logFile)}`);
    }
    if (Date.now() - t0 > READY_TIMEOUT_MS) {
      let stopped = '';
      if (started) {
        await stopProcess(pid, svc.binary).catch(() => undefined);
        removePidFile(svc.pidFile);
        stopped = ` Stopped pid ${pid}.`;
      }
      throw new Error(
        `${svc.name} (pid ${pid}) did not become healthy within ${READY_TIMEOUT_MS / 1000} s (${probe.detail}).${stopped} ` +
          `Read ${svc.logFile}; its last lines:\n${logTail(svc.logFile)}`,
      );
    }
    if (Date.now() > nextNote) {
      log(`${svc.name}: still waiting (${probe.detail})`);
      nextNote += 10_000;
    }
    await sleep(250);
  }
}

type Plan = { kind: 'ours'; pid: number } | { kind: 'foreign' } | { kind: 'start' };

/**
 * Decides what `up` does for svc. Runs for every service before anything starts, so a port
 * conflict on one does not leave the other half-started. Changes nothing but stale pid files.
 */
async function plan(svc: Service, log: StackLog, bindIp = BIND_IP): Promise<Plan> {
  const state = pidFileState(svc.pidFile, svc.binary);
  if (state.kind === 'running') return { kind: 'ours', pid: state.pid };
  if (state.kind === 'stale') {
    log(`${svc.name}: removing stale pid file ${svc.pidFile} (pid ${state.pid} is no longer ${svc.binary})`);
    removePidFile(svc.pidFile);
  }
  const main = await svc.probeMain();
  if (main.ok) {
    log(`${svc.name}: ${svc.describe} is already running but was not started by tl; leaving it alone`);
    const all = await svc.probeAll();
    if (!all.ok) log(`${svc.name}: warning: ${all.detail}`);
    return { kind: 'foreign' };
  }
  for (const p of svc.ports) {
    if (await portInUse(bindIp, p.port)) {
      throw new Error(
        `${svc.name}: cannot start: ${bindIp}:${p.port} (${p.what}) is in use by a process that is not a healthy ${svc.describe} ` +
          `(${main.detail}). Stop that process, or pick another port with ${p.setting}.`,
      );
    }
  }
  return { kind: 'start' };
}

/** Returns whether the service is tl's own (running or just started) rather than a foreign one. */
async function carryOut(svc: Service, p: Plan, binDir: string, log: StackLog): Promise<boolean> {
  if (p.kind === 'foreign') return false;
  if (p.kind === 'ours') {
    const probe = await svc.probeAll();
    if (probe.ok) {
      log(`${svc.name}: already running (pid ${p.pid}, started by tl)`);
    } else {
      log(`${svc.name}: pid ${p.pid} (started by tl) is not healthy yet (${probe.detail}); waiting`);
      await waitReady(svc, p.pid, undefined, log);
    }
    return true;
  }
  if (svc.tool) await ensureInstalled(svc.tool, binDir, log);
  svc.requireBinary?.();
  const { args, env } = svc.prepare(log);
  fs.mkdirSync(path.dirname(svc.pidFile), { recursive: true, mode: 0o700 });
  log(`${svc.name}: starting ${svc.binary} ${args.join(' ')}`);
  const started = startDetached(svc.binary, args, { logFile: svc.logFile, pidFile: svc.pidFile, env });
  log(`${svc.name}: pid ${started.pid}, log ${svc.logFile}; waiting for health`);
  await waitReady(svc, started.pid, started, log);
  return true;
}

/** Waits for both, then throws the first failure (so one failing does not orphan the other's wait). */
async function both<T>(a: Promise<T>, b: Promise<T>): Promise<[T, T]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

async function createBucket(target: S3Target, log: StackLog): Promise<void> {
  // MinIO reports live slightly before it accepts bucket operations; retry briefly.
  for (let attempt = 1; ; attempt++) {
    try {
      const created = await ensureBucket(target);
      log(created ? `minio: created bucket ${target.bucket}` : `minio: bucket ${target.bucket} exists`);
      return;
    } catch (err) {
      if (attempt >= 10 || /rejected the access key/.test(String(err))) throw err;
      await sleep(500);
    }
  }
}

async function registerSearchAttributes(config: Config, log: StackLog): Promise<void> {
  const { added, present } = await ensureSearchAttributes(stackTemporalOptions(config), config.temporal.namespace);
  if (added.length) log(`temporal: registered search attributes ${added.join(', ')}`);
  else log(`temporal: search attributes registered (${present.join(', ')})`);
}

// ---- public API ----------------------------------------------------------------------------

/** Installs what is missing, starts what is not running, waits until healthy, creates the bucket. Idempotent. */
export async function stackUp(config: Config, log: StackLog): Promise<StackStatus> {
  const t0 = Date.now();
  const l = layout(config.stateDir);
  const ep = endpoints(config);
  requireLocalEndpoints(config, ep);

  if (ep.tls) {
    const names = ['127.0.0.1', 'localhost', ep.bindIp, ep.temporalHost, ep.minioHost].filter((n) => n !== '0.0.0.0');
    await ensureStackCertificates(config.stateDir, names, log);
    writeClientEnv(config, l, ep);
  }
  const before = await stackStatus(config);
  if (before.temporal.healthy && before.temporalUi.healthy && before.minio.healthy && before.bucket.exists && (!ep.tls || before.tlsProxy?.healthy)) {
    await registerSearchAttributes(config, log);
    log(`stack already up (Temporal ${before.temporal.url}, UI ${before.temporalUi.url}, MinIO ${before.minio.url}, bucket ${before.bucket.name}): nothing to do`);
    return before;
  }

  const temporal = temporalService(config, l, ep);
  const minio = minioService(config, l, ep);
  const [temporalPlan, minioPlan] = await both(plan(temporal, log), plan(minio, log));
  const [, ours] = await both(carryOut(temporal, temporalPlan, l.binDir, log), carryOut(minio, minioPlan, l.binDir, log));
  if (ep.tls) {
    const frontend = tlsFrontendService(config, l, ep);
    await carryOut(frontend, await plan(frontend, log, ep.bindIp), l.binDir, log);
  }

  const generated = readCredentials(l.credentials);
  if (ours && config.s3.accessKeyId && generated && config.s3.accessKeyId !== generated.accessKey) {
    log(`minio: warning: TL_S3_ACCESS_KEY is set, but the local MinIO uses the generated credentials in ${l.credentials}; unset TL_S3_ACCESS_KEY/TL_S3_SECRET_KEY to use them`);
  }
  const target = s3Target(config, generated, ours);
  if (!target) {
    throw new Error(
      ours
        ? `${l.credentials} is missing, so the credentials of the running MinIO are unknown: set TL_S3_ACCESS_KEY/TL_S3_SECRET_KEY, or \`tl stack down\` and \`up\` to generate new ones`
        : `${minio.describe} was not started by tl and no S3 credentials are set: set TL_S3_ACCESS_KEY and TL_S3_SECRET_KEY`,
    );
  }
  await createBucket(target, log);
  await registerSearchAttributes(config, log);

  const after = await stackStatus(config);
  log(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s: Temporal ${after.temporal.url}, UI ${after.temporalUi.url}, MinIO ${after.minio.url} (console http://${BIND_IP}:${ep.consolePort}), bucket ${after.bucket.name}`);
  if (ep.tls) log(`secured stack: clients need the variables in ${l.envFile} (e.g. set -a; . ${l.envFile}; set +a)`);
  return after;
}

/** Stops the servers tl started (verified by pid file and /proc cmdline); leaves anything else alone. */
export async function stackDown(config: Config, log: StackLog): Promise<void> {
  if (config.stack.tls || fs.existsSync(layout(config.stateDir).nginxPid)) await stopService(config, 'tls-frontend', log);
  await both(stopService(config, 'temporal', log), stopService(config, 'minio', log));
}

/** Stops one server tl started, leaving the other running (fault tests take one down at a time). */
export async function stopService(config: Config, name: 'temporal' | 'minio' | 'tls-frontend', log: StackLog): Promise<void> {
  const l = layout(config.stateDir);
  const ep = endpoints(config);
  const svc = name === 'temporal' ? temporalService(config, l, ep) : name === 'minio' ? minioService(config, l, ep) : tlsFrontendService(config, l, ep);
  const state = pidFileState(svc.pidFile, svc.binary);
  if (state.kind === 'running') {
    log(`${svc.name}: stopping pid ${state.pid} (SIGTERM)`);
    const how = await stopProcess(state.pid, svc.binary);
    removePidFile(svc.pidFile);
    log(`${svc.name}: stopped (${how === 'killed' ? 'SIGKILL after timeout' : 'exited'})`);
  } else if (state.kind === 'stale') {
    removePidFile(svc.pidFile);
    log(`${svc.name}: removed stale pid file ${svc.pidFile} (pid ${state.pid} is no longer ${svc.binary}; not signalled)`);
  }
  if ((await svc.probeMain()).ok) {
    log(`${svc.name}: ${svc.describe} is running but was not started by tl; leaving it alone`);
  } else if (state.kind !== 'running') {
    log(`${svc.name}: not running`);
  }
}

/** Health and ownership of each service; never starts or stops anything. */
export async function stackStatus(config: Config): Promise<StackStatus> {
  const l = layout(config.stateDir);
  const ep = endpoints(config);
  const caFile = ep.tls ? certificatePaths(config.stateDir).caCert : config.s3.caFile;
  const [grpc, ui, live] = await Promise.all([
    probeTemporal(stackTemporalOptions(config), config.temporal.namespace),
    probeHttp(ep.uiUrl),
    probeHttp(ep.minioLiveUrl, 2_000, caFile),
  ]);
  const temporalPid = pidFileState(l.temporalPid, l.temporalBin);
  const minioPid = pidFileState(l.minioPid, l.minioBin);

  const ownership = (state: ReturnType<typeof pidFileState>, file: string): { pid?: number; startedByTl: boolean; note: string } => {
    if (state.kind === 'running') return { pid: state.pid, startedByTl: true, note: '' };
    if (state.kind === 'stale') return { startedByTl: false, note: `; stale pid file ${file} (pid ${state.pid})` };
    return { startedByTl: false, note: '' };
  };
  const tOwn = ownership(temporalPid, l.temporalPid);
  const mOwn = ownership(minioPid, l.minioPid);

  let exists = false;
  let bucketNote = '';
  const target = s3Target(config, readCredentials(l.credentials), minioPid.kind === 'running');
  if (live.ok && target) {
    try {
      exists = await bucketExists(target);
    } catch (err) {
      bucketNote = `; bucket check failed: ${(err as Error).message}`;
    }
  } else if (live.ok) {
    bucketNote = '; no S3 credentials to check the bucket';
  }

  const entry = (name: string, url: string, probe: Probe, own: { pid?: number; startedByTl: boolean; note: string }, extra = ''): ServiceStatus => ({
    name,
    url,
    healthy: probe.ok,
    ...(own.pid !== undefined ? { pid: own.pid } : {}),
    startedByTl: own.startedByTl,
    detail: `${probe.detail}${own.note}${probe.ok && !own.startedByTl ? '; not started by tl' : ''}${extra}`,
  });
  return {
    temporal: entry('temporal', config.temporal.address, grpc, tOwn),
    // The UI is served by the same process as the frontend.
    temporalUi: entry('temporal-ui', ep.uiUrl, ui, tOwn),
    minio: entry('minio', ep.s3Endpoint, live, mOwn, bucketNote),
    ...(ep.tls ? { tlsProxy: entry('tls-frontend', config.temporal.address, grpc, ownership(pidFileState(l.nginxPid, nginxBinary()), l.nginxPid)) } : {}),
    bucket: { name: config.s3.bucket, exists },
  };
}

