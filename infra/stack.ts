// The local stack: Temporal dev server (gRPC + Web UI, history in SQLite) and MinIO, both bound to
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
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Config, credentialsFile } from '../lib/config';
import type { TemporalConnectionOptions } from '../temporal/connection';
import { certificatePaths, ensureStackCertificates } from './tls';
import { ensureInstalled, type GoTool, stackBinDir, TOOLS } from './install';
import { ensureSearchAttributes } from './search-attributes';
import { bucketExists, ensureBucket, type Probe, probeHttp, probeTemporal, type S3Target } from './probes';
import {
  isProcessOf,
  logTail,
  pidFileState,
  portInUse,
  removePidFile,
  type Started,
  startDetached,
  stopProcess,
} from './processes';

export interface StackLog {
  (line: string): void;
}

export interface ServiceStatus {
  name: string;
  url: string;
  healthy: boolean;
  pid?: number;
  startedByTl: boolean;
  detail?: string;
}

export interface StackStatus {
  temporal: ServiceStatus;
  temporalUi: ServiceStatus;
  minio: ServiceStatus;
  /** The TLS frontend in front of Temporal (secured stack only). */
  tlsProxy?: ServiceStatus;
  bucket: { name: string; exists: boolean };
}

/** Plaintext servers listen on loopback only: the dev server and MinIO are not meant to be reachable from the network. */
const BIND_IP = '127.0.0.1';
const NGINX_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);
const READY_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Layout {
  binDir: string;
  temporalBin: string;
  minioBin: string;
  temporalDb: string;
  minioData: string;
  credentials: string;
  temporalLog: string;
  minioLog: string;
  temporalPid: string;
  minioPid: string;
  nginxConf: string;
  nginxLog: string;
  nginxPid: string;
  envFile: string;
}

function layout(stateDir: string): Layout {
  const binDir = stackBinDir(stateDir);
  return {
    binDir,
    temporalBin: path.join(binDir, 'temporal'),
    minioBin: path.join(binDir, 'minio'),
    temporalDb: path.join(stateDir, 'temporal', 'temporal.db'),
    minioData: path.join(stateDir, 'minio', 'data'),
    credentials: credentialsFile(stateDir),
    temporalLog: path.join(stateDir, 'logs', 'temporal.log'),
    minioLog: path.join(stateDir, 'logs', 'minio.log'),
    temporalPid: path.join(stateDir, 'run', 'temporal.pid'),
    minioPid: path.join(stateDir, 'run', 'minio.pid'),
    nginxConf: path.join(stateDir, 'tls', 'nginx.conf'),
    nginxLog: path.join(stateDir, 'logs', 'nginx.log'),
    nginxPid: path.join(stateDir, 'run', 'nginx.pid'),
    envFile: path.join(stateDir, 'tls', 'tl.env'),
  };
}

export interface Endpoints {
  temporalHost: string;
  temporalPort: number;
  uiPort: number;
  uiUrl: string;
  minioHost: string;
  minioPort: number;
  consolePort: number;
  minioLiveUrl: string;
  /** Where the public ports listen (loopback unless TL_STACK_BIND_IP says otherwise). */
  bindIp: string;
  tls: boolean;
  /** Secured stack: the dev server's own plaintext port on loopback, behind the TLS frontend. */
  internalTemporalPort: number;
  s3Endpoint: string;
}

/** Where the local stack's servers listen, derived from the configuration. */
export function endpoints(config: Config): Endpoints {
  const address = config.temporal.address;
  const colon = address.lastIndexOf(':');
  const temporalHost = address.slice(0, colon);
  const s3 = new URL(config.s3.endpoint);
  const minioPort = Number(s3.port || (s3.protocol === 'https:' ? 443 : 80));
  const { tls, bindIp } = config.stack;
  // The secured stack serves S3 over https whatever scheme the endpoint was written with.
  const s3Endpoint = tls ? `https://${s3.host}` : config.s3.endpoint;
  return {
    bindIp,
    tls,
    internalTemporalPort: config.temporal.uiPort + 1,
    s3Endpoint,
    temporalHost,
    temporalPort: Number(address.slice(colon + 1)),
    uiPort: config.temporal.uiPort,
    // The Web UI is plaintext, so it stays on loopback even when the secured frontend listens wider.
    uiUrl: `http://${LOOPBACK_HOSTS.has(temporalHost) ? temporalHost : BIND_IP}:${config.temporal.uiPort}`,
    minioHost: s3.hostname,
    minioPort,
    // MinIO's console needs a port of its own; the one after the S3 port keeps 9000/9001 by default.
    consolePort: minioPort + 1,
    minioLiveUrl: new URL('/minio/health/live', s3Endpoint).toString(),
  };
}

/** `up` only starts servers on this machine; anything else is a configuration mistake worth naming. */
function requireLocalEndpoints(config: Config, ep: Endpoints): void {
  if (ep.bindIp !== BIND_IP && !ep.tls) {
    throw new Error(`TL_STACK_BIND_IP=${ep.bindIp} would expose a plaintext stack; only the secured stack (--tls or TL_STACK_TLS=1) listens beyond loopback`);
  }
  const local = (host: string) => LOOPBACK_HOSTS.has(host) || host === ep.bindIp;
  if (!local(ep.temporalHost)) {
    throw new Error(
      `TL_TEMPORAL_ADDRESS=${config.temporal.address} is not a loopback address; tl stack up only starts a local stack on ${BIND_IP} (e.g. ${BIND_IP}:7233)`,
    );
  }
  const s3 = new URL(config.s3.endpoint);
  if ((s3.protocol !== 'http:' && !ep.tls) || !local(ep.minioHost) || (s3.pathname !== '/' && s3.pathname !== '')) {
    throw new Error(
      `TL_S3_ENDPOINT=${config.s3.endpoint} is not a local http endpoint; tl stack up only starts MinIO on http://${BIND_IP}:<port>`,
    );
  }
  if (ep.consolePort > 65535) throw new Error(`TL_S3_ENDPOINT port ${ep.minioPort} leaves no room for the MinIO console on port+1`);
  const ports = [
    [ep.temporalPort, 'TL_TEMPORAL_ADDRESS'],
    [ep.uiPort, 'TL_TEMPORAL_UI_PORT'],
    ...(ep.tls ? ([[ep.internalTemporalPort, 'TL_TEMPORAL_UI_PORT + 1 (dev server behind the TLS frontend)']] as const) : []),
    [ep.minioPort, 'TL_S3_ENDPOINT'],
    [ep.consolePort, 'TL_S3_ENDPOINT port + 1 (MinIO console)'],
  ] as const;
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (ports[i]![0] === ports[j]![0]) throw new Error(`port ${ports[i]![0]} is used twice: ${ports[i]![1]} and ${ports[j]![1]}`);
    }
  }
}

// ---- credentials ---------------------------------------------------------------------------

interface Credentials {
  accessKey: string;
  secretKey: string;
}

function readCredentials(file: string): Credentials | undefined {
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
function ensureCredentials(file: string, log: StackLog): Credentials {
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
function ensureKmsKey(file: string, log: StackLog): string {
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
function s3Target(config: Config, generated: Credentials | undefined, minioIsOurs: boolean): S3Target | undefined {
  const ep = endpoints(config);
  const useGenerated = minioIsOurs && generated !== undefined;
  const accessKeyId = useGenerated ? generated.accessKey : config.s3.accessKeyId || generated?.accessKey;
  const secretAccessKey = useGenerated ? generated.secretKey : config.s3.secretAccessKey || generated?.secretKey;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const caFile = ep.tls ? certificatePaths(config.stateDir).caCert : config.s3.caFile;
  return { endpoint: ep.s3Endpoint, region: config.s3.region, bucket: config.s3.bucket, accessKeyId, secretAccessKey, forcePathStyle: config.s3.forcePathStyle, ...(caFile ? { caFile } : {}) };
}

// ---- services ------------------------------------------------------------------------------

interface Service {
  name: 'temporal' | 'minio' | 'tls-frontend';
  /** Built from a Go module when missing; otherwise `requireBinary` says how to get it. */
  tool?: GoTool;
  requireBinary?: () => void;
  binary: string;
  pidFile: string;
  logFile: string;
  /** Ports the server binds; all must be free before starting it. */
  ports: { port: number; what: string; setting: string }[];
  /** The primary endpoint answers: something healthy of this kind is listening. */
  probeMain(): Promise<Probe>;
  /** Every endpoint the server provides is ready. */
  probeAll(): Promise<Probe>;
  /** Creates directories/credentials and returns the command line and environment. */
  prepare(log: StackLog): { args: string[]; env: NodeJS.ProcessEnv };
  /** Shown when the primary endpoint answers but was not started by tl. */
  describe: string;
}

/** The parent's environment without S3 secrets, so servers see only what they need. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['TL_S3_ACCESS_KEY', 'TL_S3_SECRET_KEY', 'TL_TEMPORAL_API_KEY', 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'MINIO_KMS_SECRET_KEY']) delete env[key];
  return env;
}

/**
 * How the stack's own processes reach its Temporal frontend: as configured on a plaintext stack,
 * with the stack's CA and client certificate on a secured one (the caller's TL_TEMPORAL_TLS_* may not
 * be set yet: they point at files this stack creates).
 */
export function stackTemporalOptions(config: Config): TemporalConnectionOptions {
  if (!config.stack.tls) return { address: config.temporal.address };
  const c = certificatePaths(config.stateDir);
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f) : Buffer.alloc(0));
  return { address: config.temporal.address, tls: { serverRootCACertificate: read(c.caCert), clientCertPair: { crt: read(c.clientCert), key: read(c.clientKey) } } };
}

function temporalService(config: Config, l: Layout, ep: Endpoints): Service {
  const { namespace } = config.temporal;
  // Behind the TLS frontend the dev server is probed directly on its loopback port.
  const probeMain = () => probeTemporal({ address: ep.tls ? `${BIND_IP}:${ep.internalTemporalPort}` : config.temporal.address }, namespace);
  return {
    name: 'temporal',
    tool: TOOLS.temporal,
    binary: l.temporalBin,
    pidFile: l.temporalPid,
    logFile: l.temporalLog,
    ports: [
      ep.tls
        ? { port: ep.internalTemporalPort, what: 'Temporal gRPC behind the TLS frontend', setting: 'TL_TEMPORAL_UI_PORT' }
        : { port: ep.temporalPort, what: 'Temporal gRPC', setting: 'TL_TEMPORAL_ADDRESS' },
      { port: ep.uiPort, what: 'Temporal Web UI', setting: 'TL_TEMPORAL_UI_PORT' },
    ],
    probeMain,
    async probeAll() {
      const [grpc, ui] = await Promise.all([probeMain(), probeHttp(ep.uiUrl)]);
      return { ok: grpc.ok && ui.ok, detail: grpc.ok && ui.ok ? `${grpc.detail}; UI ${ep.uiUrl}: 200` : grpc.ok ? ui.detail : grpc.detail };
    },
    prepare() {
      fs.mkdirSync(path.dirname(l.temporalDb), { recursive: true, mode: 0o700 });
      const args = [
        'server', 'start-dev',
        '--ip', BIND_IP,
        '--port', String(ep.tls ? ep.internalTemporalPort : ep.temporalPort),
        '--ui-ip', BIND_IP,
        '--ui-port', String(ep.uiPort),
        '--db-filename', l.temporalDb, // SQLite file: workflow history survives restarts
        '--namespace', namespace, // registered at start-up ("default" always is; naming it again is harmless)
        '--log-format', 'json',
      ];
      return { args, env: baseEnv() };
    },
    describe: `Temporal at ${config.temporal.address}`,
  };
}

function minioService(config: Config, l: Layout, ep: Endpoints): Service {
  const caFile = ep.tls ? certificatePaths(config.stateDir).caCert : undefined;
  const probe = () => probeHttp(ep.minioLiveUrl, 2_000, caFile);
  return {
    name: 'minio',
    tool: TOOLS.minio,
    binary: l.minioBin,
    pidFile: l.minioPid,
    logFile: l.minioLog,
    ports: [
      { port: ep.minioPort, what: 'MinIO S3 API', setting: 'TL_S3_ENDPOINT' },
      { port: ep.consolePort, what: 'MinIO console (S3 port + 1)', setting: 'TL_S3_ENDPOINT' },
    ],
    probeMain: probe,
    probeAll: probe,
    prepare(log) {
      fs.mkdirSync(l.minioData, { recursive: true, mode: 0o700 });
      const creds = ensureCredentials(l.credentials, log);
      const args = ['server', l.minioData, '--address', `${ep.bindIp}:${ep.minioPort}`, '--console-address', `${BIND_IP}:${ep.consolePort}`];
      if (ep.tls) args.push('--certs-dir', certificatePaths(config.stateDir).minioCertsDir);
      const env: NodeJS.ProcessEnv = { ...baseEnv(), MINIO_ROOT_USER: creds.accessKey, MINIO_ROOT_PASSWORD: creds.secretKey };
      // The secured stack also serves server-side encryption (TL_S3_SSE=AES256), from a static key.
      if (ep.tls) env.MINIO_KMS_SECRET_KEY = `tl-stack:${ensureKmsKey(path.join(path.dirname(l.credentials), 'kms.key'), log)}`;
      return { args, env };
    },
    describe: `MinIO at ${config.s3.endpoint}`,
  };
}

function nginxBinary(): string {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', ...(process.env.PATH ?? '').split(path.delimiter)]) {
    const candidate = path.join(dir, 'nginx');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return '/usr/sbin/nginx';
}

/** nginx's stream module terminates TLS, verifies the client certificate and passes gRPC through. */
function tlsFrontendService(config: Config, l: Layout, ep: Endpoints): Service {
  const binary = nginxBinary();
  const probe = () => probeTemporal(stackTemporalOptions(config), config.temporal.namespace);
  return {
    name: 'tls-frontend',
    binary,
    requireBinary() {
      if (!fs.existsSync(binary) || !fs.existsSync(NGINX_MODULE)) {
        throw new Error(`the secured stack needs nginx with its stream module: apt-get install nginx libnginx-mod-stream (looked for ${binary} and ${NGINX_MODULE})`);
      }
    },
    pidFile: l.nginxPid,
    logFile: l.nginxLog,
    ports: [{ port: ep.temporalPort, what: 'Temporal TLS frontend', setting: 'TL_TEMPORAL_ADDRESS' }],
    probeMain: probe,
    probeAll: probe,
    prepare() {
      const c = certificatePaths(config.stateDir);
      const conf = [
        `load_module ${NGINX_MODULE};`,
        'daemon off;',
        'worker_processes 1;',
        `pid ${path.join(path.dirname(l.nginxPid), 'nginx.master.pid')};`,
        `error_log ${l.nginxLog} info;`,
        'events { worker_connections 1024; }',
        'stream {',
        '  server {',
        `    listen ${ep.bindIp}:${ep.temporalPort} ssl;`,
        `    ssl_certificate ${c.serverCert};`,
        `    ssl_certificate_key ${c.serverKey};`,
        `    ssl_client_certificate ${c.caCert};`,
        '    ssl_verify_client on;', // no certificate from the stack's CA, no connection
        '    ssl_protocols TLSv1.2 TLSv1.3;',
        '    ssl_alpn h2;', // gRPC clients insist on HTTP/2 being negotiated
        `    proxy_pass ${BIND_IP}:${ep.internalTemporalPort};`,
        '    proxy_timeout 10m;', // long polls sit idle for about a minute
        '  }',
        '}',
        '',
      ].join('\n');
      fs.writeFileSync(l.nginxConf, conf, { mode: 0o600 });
      return { args: ['-e', l.nginxLog, '-p', path.dirname(l.nginxConf), '-c', l.nginxConf], env: baseEnv() };
    },
    describe: `a TLS frontend at ${config.temporal.address}`,
  };
}

/** The variables a client of the secured stack sets (no secrets: S3 keys stay in the state dir). */
function writeClientEnv(config: Config, l: Layout, ep: Endpoints): void {
  const c = certificatePaths(config.stateDir);
  const lines = [
    `TL_TEMPORAL_ADDRESS=${config.temporal.address}`,
    `TL_TEMPORAL_TLS_CA_FILE=${c.caCert}`,
    `TL_TEMPORAL_TLS_CERT_FILE=${c.clientCert}`,
    `TL_TEMPORAL_TLS_KEY_FILE=${c.clientKey}`,
    `TL_S3_ENDPOINT=${ep.s3Endpoint}`,
    `TL_S3_CA_FILE=${c.caCert}`,
    // For `tl stack status`/`down` on this host: the stack is the secured one.
    'TL_STACK_TLS=1',
    `TL_STACK_BIND_IP=${ep.bindIp}`,
  ];
  fs.writeFileSync(l.envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Polls until every endpoint is ready; on failure names the log file (and stops what it just started). */
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
