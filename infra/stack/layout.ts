// Where the local stack keeps its files and which addresses it serves on.
import * as path from 'node:path';
import { type Config, credentialsFile } from '../../lib/config';
import { stackBinDir } from '../install';

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
export const BIND_IP = '127.0.0.1';
export const NGINX_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
export const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);
export const READY_TIMEOUT_MS = 60_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Layout {
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

export function layout(stateDir: string): Layout {
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
export function requireLocalEndpoints(config: Config, ep: Endpoints): void {
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

