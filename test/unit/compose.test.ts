// Static checks of infra/docker-compose.yml (Docker is not needed): it must agree with lib/config.ts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ENV_VARS } from '../../lib/config';

// Compiled to dist/test/unit/, so the repository root is three levels up.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const COMPOSE_FILE = path.join(ROOT, 'infra', 'docker-compose.yml');
const raw = fs.readFileSync(COMPOSE_FILE, 'utf8');

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; dockerfile_inline?: string };
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test?: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; count?: string | number; capabilities?: string[] }[] } } };
}
const compose = parse(raw) as { services: Record<string, ComposeService> };
const services = compose.services;

const defaultPort = (name: 'TL_TEMPORAL_ADDRESS' | 'TL_S3_ENDPOINT'): number => Number(/:(\d+)$/.exec(ENV_VARS[name].default)![1]);

/** "127.0.0.1:7233:7233" → { host: 7233, container: 7233 } */
function ports(service: ComposeService): { host: number; container: number }[] {
  return (service.ports ?? []).map((p) => {
    const parts = String(p).split(':');
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
}

test('compose defines the stack and both workers', () => {
  for (const name of ['temporal', 'minio', 'minio-init', 'worker-cpu', 'worker-gpu']) {
    assert.ok(services[name], `service ${name} is missing`);
  }
});

test('published ports match the lib/config.ts defaults', () => {
  const temporalPort = defaultPort('TL_TEMPORAL_ADDRESS');
  const uiPort = Number(ENV_VARS.TL_TEMPORAL_UI_PORT.default);
  const s3Port = defaultPort('TL_S3_ENDPOINT');
  assert.deepEqual(ports(services.temporal!), [
    { host: temporalPort, container: temporalPort },
    { host: uiPort, container: uiPort },
  ]);
  // The local stack puts the MinIO console on the S3 port + 1; so does compose.
  assert.deepEqual(ports(services.minio!), [
    { host: s3Port, container: s3Port },
    { host: s3Port + 1, container: s3Port + 1 },
  ]);
  for (const p of [...services.temporal!.ports!, ...services.minio!.ports!]) {
    assert.match(String(p), /^127\.0\.0\.1:/, `${p} should be published on loopback only`);
  }
});

test('every TL_* name in the compose file is a lib/config.ts variable', () => {
  const names = new Set(raw.match(/\bTL_[A-Z0-9_]+/g) ?? []);
  assert.ok(names.size > 0);
  for (const name of names) assert.ok(name in ENV_VARS, `${name} is not in ENV_VARS`);
});

test('workers reach Temporal and MinIO by service name', () => {
  for (const name of ['worker-cpu', 'worker-gpu']) {
    const env = services[name]!.environment!;
    assert.equal(env.TL_TEMPORAL_ADDRESS, 'temporal:7233', name);
    assert.equal(env.TL_S3_ENDPOINT, 'http://minio:9000', name);
    assert.match(String(services[name]!.build?.dockerfile), /^infra\/docker\/worker(-gpu)?\.Dockerfile$/);
    assert.ok(fs.existsSync(path.join(ROOT, services[name]!.build!.dockerfile!)), `${name}: Dockerfile missing`);
  }
  assert.deepEqual(services['worker-cpu']!.command, ['node', 'bin/tl', 'worker', '--queue', 'cpu']);
  assert.deepEqual(services['worker-gpu']!.command, ['node', 'bin/tl', 'worker', '--queue', 'gpu']);
});

test('the GPU worker reserves NVIDIA GPUs', () => {
  const devices = services['worker-gpu']!.deploy?.resources?.reservations?.devices ?? [];
  assert.ok(
    devices.some((d) => d.driver === 'nvidia' && d.count === 'all' && d.capabilities?.includes('gpu')),
    'worker-gpu needs deploy.resources.reservations.devices [{driver: nvidia, count: all, capabilities: [gpu]}]',
  );
  assert.equal(services['worker-cpu']!.deploy, undefined, 'the CPU worker must not need a GPU');
});

test('servers have healthchecks and dependants wait for them', () => {
  for (const name of ['temporal', 'minio']) {
    assert.ok(services[name]!.healthcheck?.test, `${name} has no healthcheck`);
  }
  assert.equal(services['minio-init']!.depends_on?.minio?.condition, 'service_healthy');
  for (const name of ['worker-cpu', 'worker-gpu']) {
    assert.equal(services[name]!.depends_on?.temporal?.condition, 'service_healthy', name);
    assert.equal(services[name]!.depends_on?.['minio-init']?.condition, 'service_completed_successfully', name);
  }
});

test('no literal secrets: credentials come from required variables', () => {
  const secretKey = /PASSWORD|SECRET|ACCESS_KEY|ROOT_USER|TOKEN/;
  const required = /^\$\{TL_S3_(ACCESS|SECRET)_KEY:\?[^}]*\}$/;
  let checked = 0;
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (!secretKey.test(key)) continue;
      checked++;
      assert.match(String(value), required, `${name}.environment.${key} must be \${TL_S3_..._KEY:?...}, not a literal or a default`);
    }
  }
  assert.ok(checked >= 4, 'expected MinIO and worker credentials to be checked');
  // Neither a default (`:-`) for a credential variable nor MinIO's well-known default password.
  assert.doesNotMatch(raw, /\$\{TL_S3_(ACCESS|SECRET)_KEY(?!:\?)/);
  assert.doesNotMatch(raw, /minioadmin/i);
});
