// `tl doctor`: checks what tl needs on this machine (stack, credentials, backends, workers, data,
// browser, disk) and says for each problem how to fix it. Only reads and probes; starts nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Config } from '../lib/config';
import { FASHION_MNIST_FILES } from '../lib/data/fashion-mnist';
import { backendSummary, initBackend, type BackendName } from '../lib/tf/backend';
import { bucketExists, probeHttp, probeTemporal } from '../infra/probes';
import { endpoints } from '../infra/stack';
import { findOnPath } from './system';
import { temporalConnectionOptions } from '../temporal/connection';
import { securityChecks } from './doctor-security';
import type { Check } from './doctor-check';

const STACK_UP = 'run `tl stack up`';
const GIB = 1024 ** 3;

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const bad = (status: 'warn' | 'fail', name: string, detail: string, fix: string): Check => ({ name, status, detail, fix });

/** Every check, in the order they are shown. Never throws: a check that cannot run reports why. */
export async function runDoctor(config: Config): Promise<Check[]> {
  const [stack, security, backends, local] = await Promise.all([stackChecks(config), securityChecks(config), backendChecks(config), Promise.resolve(localChecks(config))]);
  return [...stack, ...security, ...backends, ...local];
}

export const doctorFailed = (checks: Check[]): boolean => checks.some((c) => c.status === 'fail');

/** One line per check, with the fix indented under warnings and failures. */
export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => [`${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`, ...(c.fix ? [`${' '.repeat(width + 8)}fix: ${c.fix}`] : [])]);
  const counts = (['ok', 'warn', 'fail'] as const).map((s) => `${checks.filter((c) => c.status === s).length} ${s}`);
  return [...lines, counts.join(', ')].join('\n');
}

// ---- stack: Temporal, its UI, MinIO, credentials, bucket, workers ----

async function stackChecks(config: Config): Promise<Check[]> {
  const { address, namespace } = config.temporal;
  const { uiUrl, minioLiveUrl } = endpoints(config);
  const [temporal, ui, minio] = await Promise.all([probeTemporal(temporalConnectionOptions(config), namespace), probeHttp(uiUrl), probeHttp(minioLiveUrl)]);

  const checks: Check[] = [];
  const reachable = temporal.ok || temporal.detail.startsWith('gRPC reachable');
  checks.push(reachable ? ok('temporal', `reachable at ${address}`) : bad('fail', 'temporal', temporal.detail, `${STACK_UP}, or set TL_TEMPORAL_ADDRESS to a running Temporal frontend`));
  if (temporal.ok) checks.push(ok('namespace', `"${namespace}" registered`));
  else if (reachable) checks.push(bad('fail', 'namespace', temporal.detail, `set TL_TEMPORAL_NAMESPACE to an existing namespace, or create it: temporal operator namespace create ${namespace}`));
  else checks.push(bad('fail', 'namespace', 'not checked: Temporal is not reachable', STACK_UP));
  checks.push(ui.ok ? ok('temporal-ui', uiUrl) : bad('warn', 'temporal-ui', ui.detail, `${STACK_UP} (the dev server serves the UI), or set TL_TEMPORAL_UI_PORT`));
  checks.push(minio.ok ? ok('minio', `healthy at ${config.s3.endpoint}`) : bad('fail', 'minio', minio.detail, `${STACK_UP}, or set TL_S3_ENDPOINT to a running S3 endpoint`));

  // Where the credentials come from is a security check (cli/doctor-security.ts).
  const haveCredentials = config.s3.credentialSource !== 'default-chain';
  checks.push(await bucketCheck(config, minio.ok && haveCredentials));
  checks.push(...(await workerChecks(config, temporal.ok)));
  return checks;
}

async function bucketCheck(config: Config, canCheck: boolean): Promise<Check> {
  const name = config.s3.bucket;
  if (!canCheck) return bad('fail', 'bucket', `${name}: not checked (S3 unreachable or no credentials)`, STACK_UP);
  try {
    return (await bucketExists(config.s3))
      ? ok('bucket', `${name} exists`)
      : bad('fail', 'bucket', `${name} does not exist`, `${STACK_UP} (it creates the bucket), or set TL_S3_BUCKET`);
  } catch (err) {
    return bad('fail', 'bucket', (err as Error).message, 'check TL_S3_ACCESS_KEY / TL_S3_SECRET_KEY (or unset them to use the generated ones)');
  }
}

/** Pollers on the task queues: a run waits forever when nobody serves its queue. */
async function workerChecks(config: Config, reachable: boolean): Promise<Check[]> {
  const queues: { name: string; queue: string; kind: 'cpu' | 'gpu'; types: number[] }[] = [
    // Workflow (1) and activity (2) task queues: CPU workers serve both, GPU workers activities only.
    { name: 'cpu workers', queue: config.taskQueues.cpu, kind: 'cpu', types: [1, 2] },
    { name: 'gpu workers', queue: config.taskQueues.gpu, kind: 'gpu', types: [2] },
  ];
  const fix = (q: (typeof queues)[number]) => `start one: \`tl worker --queue ${q.kind}\``;
  if (!reachable) return queues.map((q) => bad('warn', q.name, `${q.queue}: not checked (Temporal is not usable)`, fix(q)));
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '3 seconds' });
    const conn = connection;
    return await Promise.all(
      queues.map(async (q) => {
        const counts = await Promise.all(
          q.types.map(async (taskQueueType) => {
            const res = await conn.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name: q.queue }, taskQueueType });
            return res.pollers?.length ?? 0;
          }),
        );
        const pollers = Math.min(...counts);
        return pollers > 0 ? ok(q.name, `${pollers} polling ${q.queue}`) : bad('warn', q.name, `nobody polls ${q.queue}`, fix(q));
      }),
    );
  } catch (err) {
    return queues.map((q) => bad('warn', q.name, `${q.queue}: describeTaskQueue failed: ${(err as Error).message.split('\n')[0]}`, fix(q)));
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

// ---- TensorFlow.js backends, resolved exactly as a worker resolves them ----

const BACKEND_FIX: Record<BackendName, string> = {
  tensorflow: 'run scripts/native-backend.sh for the native TensorFlow backend (several times faster than wasm)',
  webgpu: "optional, GPU workers only: bash scripts/webgpu-backend.sh (or the GPU bundle) installs Dawn and tfjs-backend-webgpu; Dawn then needs the GPU's Vulkan driver (VK_DRIVER_FILES)",
  wasm: 'reinstall the npm packages (bash scripts/setup.sh): @tensorflow/tfjs-backend-wasm is part of tl',
  cpu: 'reinstall the npm packages (bash scripts/setup.sh): @tensorflow/tfjs-backend-cpu is part of tl',
};

async function backendChecks(config: Config): Promise<Check[]> {
  const errors = new Map<BackendName, string | undefined>();
  const picks: Check[] = [];
  for (const queue of ['cpu', 'gpu'] as const) {
    try {
      const choice = await initBackend({ queue, forced: config.backend });
      for (const t of choice.tried) {
        if (t.name === 'tensorflow-gpu') continue; // GPU machines only: the gpu worker's line says why it was passed over
        if (!errors.has(t.name) || t.error === undefined) errors.set(t.name, t.error);
      }
      const via = config.backend === 'auto' ? 'auto' : `TL_BACKEND=${config.backend}`;
      picks.push(ok(`${queue} worker backend`, `${backendSummary(choice)} (${via})`));
    } catch (err) {
      const fix = config.backend === 'auto' ? BACKEND_FIX.cpu : `unset TL_BACKEND, or ${BACKEND_FIX[config.backend]}`;
      picks.push(bad('fail', `${queue} worker backend`, (err as Error).message.split('\n')[0], fix));
    }
  }
  // Backends neither worker got to (a better one loaded first): try each on its own.
  for (const name of ['tensorflow', 'wasm', 'cpu', 'webgpu'] as const) {
    if (errors.has(name)) continue;
    try {
      await initBackend({ queue: 'cpu', forced: name });
      errors.set(name, undefined);
    } catch (err) {
      errors.set(name, (err as Error).message.replace(/^TL_BACKEND=\w+: /, ''));
    }
  }
  const loads = (['tensorflow', 'wasm', 'cpu', 'webgpu'] as const).map((name) => {
    const error = errors.get(name);
    if (error === undefined) return ok(`backend ${name}`, 'loads');
    return bad(name === 'cpu' || name === 'wasm' ? 'fail' : 'warn', `backend ${name}`, `does not load: ${error.split('\n')[0].slice(0, 160)}`, BACKEND_FIX[name]);
  });
  return [...loads, ...picks];
}

// ---- this machine: data, browser, disk ----

function localChecks(config: Config): Check[] {
  const dir = config.fashionMnistDir;
  const missing = Object.values(FASHION_MNIST_FILES).filter((f) => !fs.existsSync(path.join(dir, f)));
  const data = missing.length
    ? bad('warn', 'fashion-mnist', `${dir}: missing ${missing.join(', ')}`, 'sudo apt-get install dataset-fashion-mnist, set TL_FASHION_MNIST_DIR, or pass `tl run lab-cnn --source`')
    : ok('fashion-mnist', dir);

  const browser = ['chromium', 'chromium-browser', 'google-chrome'].map((b) => findOnPath(b)).find(Boolean);
  const chromium = browser
    ? ok('chromium', browser)
    : bad('warn', 'chromium', 'no chromium on PATH', 'sudo apt-get install chromium (the browser test of the Web UI and report screenshots use it)');

  return [data, chromium, diskCheck(config.stateDir)];
}

function diskCheck(stateDir: string): Check {
  // The state dir may not exist before the first `tl stack up`: measure the disk it will be on.
  let dir = stateDir;
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    const s = fs.statfsSync(dir);
    const free = s.bavail * s.bsize;
    const detail = `${(free / GIB).toFixed(1)} GiB free in ${dir}`;
    if (free < 1 * GIB) return bad('fail', 'disk', detail, 'free disk space: MinIO stores every artifact there (or set TL_STATE_DIR to a bigger disk)');
    if (free < 5 * GIB) return bad('warn', 'disk', detail, 'free some disk space: full-size runs store checkpoints and features');
    return ok('disk', detail);
  } catch (err) {
    return bad('warn', 'disk', `cannot measure free space in ${dir}: ${(err as Error).message}`, 'check TL_STATE_DIR');
  }
}
