// A tl worker: picks its TensorFlow.js backend, connects to Temporal and serves one task queue.
// CPU workers run the workflows and the CPU activities; GPU workers serve the GPU queue.
import { NativeConnection, Worker, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Config } from '../lib/config';
import { ArtifactStore } from '../lib/store';
import { describeBackend, initBackend } from '../lib/tf/backend';
import { createActivities } from '../activities';
import { connectWithDiagnosis, describeTemporalSecurity, temporalConnectionOptions } from '../lib/temporal-connection';

export type QueueKind = 'cpu' | 'gpu';

export interface WorkerHandle {
  worker: Worker;
  backend: string;
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
  const connectionOptions = temporalConnectionOptions(config);
  const connection = await connectWithDiagnosis(connectionOptions, () => NativeConnection.connect(connectionOptions));
  const taskQueue = queue === 'cpu' ? config.taskQueues.cpu : config.taskQueues.gpu;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    // Workflows run on the CPU queue only; the GPU queue carries activities.
    ...(queue === 'cpu'
      ? { workflowsPath: require.resolve('../workflows'), interceptors: { workflowModules: [require.resolve('../workflows/activity-summaries')] } }
      : {}),
    activities: createActivities(() => ({ config, store, backend: backend.name })),
    maxConcurrentActivityTaskExecutions: 2,
    // On SIGTERM/SIGINT polling stops and running activities are cancelled at once: training loops
    // end at their next batch boundary after heartbeating their checkpoint, so a retry elsewhere
    // resumes from there. Past the bound the run gives up and the process exits.
    shutdownGraceTime: 0,
    shutdownForceTime: config.worker.shutdownSeconds * 1000,
    // Heartbeats carry checkpoint keys: send them promptly so a killed worker loses little.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
  log(`worker serving task queue ${taskQueue} on ${config.temporal.address} (namespace ${config.temporal.namespace}, ${describeTemporalSecurity(config)})`);
  return { worker, backend: backend.name, taskQueue, connection };
}
