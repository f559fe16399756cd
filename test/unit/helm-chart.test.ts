// The worker chart (infra/helm/tl-workers) rendered with `helm template` (helm from scripts/helm.sh):
// every variable it sets is a lib/config.ts variable with a valid value, secrets stay in the
// Secret, and ports, probes and the shutdown budget agree with the configuration.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ENV_VARS, SECRET_VARS, loadConfig, type EnvName } from '../../lib/config';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CHART = path.join(ROOT, 'infra', 'helm', 'tl-workers');
const HELM = [process.env.TL_HELM, path.join(process.env.TL_STATE_DIR ?? path.join(os.homedir(), '.local', 'state', 'tl'), 'bin', 'helm')].find(
  (p): p is string => Boolean(p && fs.existsSync(p)),
);
const skip = HELM ? false : 'helm not built: run bash scripts/helm.sh (npm run test:fleet does)';

interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function render(...sets: string[]): { objects: K8sObject[]; text: string } {
  const text = execFileSync(HELM!, ['template', 'tl', CHART, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
  const objects = parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { objects, text };
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

test('every TL_* name the chart renders is a lib/config.ts variable', { skip }, () => {
  const { text } = render('keda.enabled=true', 'tls.serverName=temporal.example.com', 'secrets.TL_S3_ACCESS_KEY=AKIAEXAMPLE', 'secrets.TL_S3_SECRET_KEY=example-secret');
  const names = new Set(text.match(/\bTL_[A-Z0-9_]+/g) ?? []);
  assert.ok(names.size >= 10, `only ${names.size} names`);
  for (const name of names) assert.ok(name in ENV_VARS, `${name} is not in ENV_VARS`);
});

test('the ConfigMap holds valid values and no secret; the Secret holds only secrets', { skip }, () => {
  const { objects } = render('tls.serverName=temporal.example.com', 'secrets.TL_S3_ACCESS_KEY=AKIAEXAMPLE', 'secrets.TL_S3_SECRET_KEY=example-secret');
  const [configMap] = byKind(objects, 'ConfigMap');
  const [secret] = byKind(objects, 'Secret');
  const data = configMap!.data!;
  for (const name of Object.keys(data)) assert.ok(!SECRET_VARS.includes(name as EnvName), `${name} is a secret but sits in the ConfigMap`);
  for (const name of Object.keys(secret!.stringData!)) assert.ok(SECRET_VARS.includes(name as EnvName), `${name} is not a secret variable`);
  // Values pass the same validation a worker does at start (certificate files exist only in the pod).
  const files = Object.keys(data).filter((n) => n.endsWith('_FILE'));
  assert.deepEqual(files.sort(), ['TL_TEMPORAL_TLS_CA_FILE', 'TL_TEMPORAL_TLS_CERT_FILE', 'TL_TEMPORAL_TLS_KEY_FILE']);
  const env = Object.fromEntries(Object.entries(data).filter(([n]) => !files.includes(n)));
  const config = loadConfig({ ...env, ...secret!.stringData, TL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'tl-helm-')) });
  assert.equal(config.temporal.tls?.serverName, 'temporal.example.com');
  assert.equal(config.s3.forcePathStyle, false);
  assert.equal(config.s3.credentialSource, 'environment');
});

test('workers: commands, health port and probe, shutdown budget, TLS mount', { skip }, () => {
  const { objects } = render();
  const data = byKind(objects, 'ConfigMap')[0]!.data!;
  const healthPort = Number(data.TL_WORKER_HEALTH_PORT);
  const deployments = byKind(objects, 'Deployment');
  assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), ['tl-tl-workers-cpu', 'tl-tl-workers-gpu']);
  for (const d of deployments) {
    const queue = d.metadata.name.endsWith('-gpu') ? 'gpu' : 'cpu';
    const pod = d.spec.template.spec;
    const [c] = pod.containers;
    assert.deepEqual(c.command, ['node', 'bin/tl', 'worker', '--queue', queue]);
    assert.deepEqual(c.ports.map((p: { containerPort: number }) => p.containerPort), [healthPort]);
    assert.equal(c.livenessProbe.httpGet.port, healthPort);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.ok(pod.terminationGracePeriodSeconds > Number(data.TL_WORKER_SHUTDOWN_SECONDS), 'the pod outlives the worker shutdown bound');
    const mount = c.volumeMounts.find((m: { name: string }) => m.name === 'temporal-tls');
    for (const file of ['TL_TEMPORAL_TLS_CA_FILE', 'TL_TEMPORAL_TLS_CERT_FILE', 'TL_TEMPORAL_TLS_KEY_FILE']) assert.ok(data[file]!.startsWith(`${mount.mountPath}/`), file);
    assert.equal(c.envFrom[0].configMapRef.name, byKind(objects, 'ConfigMap')[0]!.metadata.name);
    const gpuLimit = c.resources.limits?.['nvidia.com/gpu'];
    if (queue === 'gpu') {
      assert.equal(gpuLimit, 1);
      assert.ok(Object.keys(pod.nodeSelector ?? {}).length > 0, 'GPU pods select GPU nodes');
      assert.ok((pod.tolerations ?? []).some((t: { key: string }) => t.key === 'nvidia.com/gpu'));
    } else {
      assert.equal(gpuLimit, undefined);
    }
  }
});

test('KEDA scales each Deployment on its own task queue', { skip }, () => {
  assert.equal(byKind(render().objects, 'ScaledObject').length, 0, 'off by default');
  const { objects } = render('keda.enabled=true');
  const data = byKind(objects, 'ConfigMap')[0]!.data!;
  const scaled = byKind(objects, 'ScaledObject');
  assert.equal(scaled.length, 2);
  for (const s of scaled) {
    const queue = s.metadata.name.endsWith('-gpu') ? 'GPU' : 'CPU';
    assert.equal(s.spec.scaleTargetRef.name, s.metadata.name);
    const [trigger] = s.spec.triggers;
    assert.equal(trigger.type, 'temporal');
    assert.equal(trigger.metadata.taskQueue, data[`TL_TASK_QUEUE_${queue}`]);
    assert.equal(trigger.metadata.endpoint, data.TL_TEMPORAL_ADDRESS);
    assert.equal(trigger.metadata.namespace, data.TL_TEMPORAL_NAMESPACE);
  }
});
