// How each server of the stack starts: the Temporal dev server, MinIO, and nginx in front of
// Temporal in TLS mode; and the client environment file the secured stack writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import type { TemporalConnectionOptions } from '../../temporal/connection';
import { certificatePaths } from '../tls';
import { type GoTool, TOOLS } from '../install';
import { type Probe, probeHttp, probeTemporal } from '../probes';
import { ensureCredentials, ensureKmsKey } from './credentials';
import { BIND_IP, Endpoints, Layout, NGINX_MODULE, StackLog } from './layout';

export interface Service {
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
export function baseEnv(): NodeJS.ProcessEnv {
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

export function temporalService(config: Config, l: Layout, ep: Endpoints): Service {
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

export function minioService(config: Config, l: Layout, ep: Endpoints): Service {
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

export function nginxBinary(): string {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', ...(process.env.PATH ?? '').split(path.delimiter)]) {
    const candidate = path.join(dir, 'nginx');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return '/usr/sbin/nginx';
}

/** nginx's stream module terminates TLS, verifies the client certificate and passes gRPC through. */
export function tlsFrontendService(config: Config, l: Layout, ep: Endpoints): Service {
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
export function writeClientEnv(config: Config, l: Layout, ep: Endpoints): void {
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
