// A tl worker: picks its TensorFlow.js backend, connects to Temporal and serves one task queue.
// CPU workers run the workflows and the CPU activities; GPU workers serve the GPU queue.
import { NativeConnection, Worker, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Config } from '../lib/config';
import { ArtifactStore } from '../lib/store';
import { backendSummary, describeBackend, initBackend, passedOver, type BackendCandidate, type BackendName } from '../lib/tf/backend';
import { createActivities } from '../activities';

export type QueueKind = 'cpu' | 'gpu';

/** Which backend the worker's activities run on, and why the faster candidates were passed over. */
export interface WorkerBackend {
  name: BackendName;
  candidate: BackendCandidate;
  description: string;
  passedOver: { name: BackendCandidate; reason: string }[];
}

export interface WorkerHandle {
  worker: Worker;
  backend: WorkerBackend;
  taskQueue: string;
  connection: NativeConnection;
}

let runtimeInstalled = false;

export async function createWorker(config: Config, queue: QueueKind, log: (line: string) => void): Promise<WorkerHandle> {
  const backend = await initBackend({ queue, forced: config.backend });
  const tried = backend.tried.map((t) => (t.error ? `${t.name} (unavailable: ${t.error.split('\n')[0]})` : t.name)).join(' → ');
  log(`backend: ${describeBackend(backend)} [tried ${tried}]`);
  if (!runtimeInstalled) {
    Runtime.install({ telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } } });
    runtimeInstalled = true;
  }
  const store = ArtifactStore.fromConfig(config);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const taskQueue = queue === 'cpu' ? config.taskQueues.cpu : config.taskQueues.gpu;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    // Workflows run on the CPU queue only; the GPU queue carries activities.
    ...(queue === 'cpu'
      ? { workflowsPath: require.resolve('../workflows'), interceptors: { workflowModules: [require.resolve('../workflows/activity-summaries')] } }
      : {}),
    activities: createActivities(() => ({ config, store, backend: backendSummary(backend) })),
    maxConcurrentActivityTaskExecutions: 2,
    // Heartbeats carry checkpoint keys: send them promptly so a killed worker loses little.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
  log(`worker serving task queue ${taskQueue} on ${config.temporal.address} (namespace ${config.temporal.namespace})`);
  return {
    worker,
    backend: { name: backend.name, candidate: backend.candidate, description: describeBackend(backend), passedOver: passedOver(backend) },
    taskQueue,
    connection,
  };
}
