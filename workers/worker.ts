// A tl worker: picks its TensorFlow.js backend, connects to Temporal and serves one task queue.
// On the CPU queue it serves the workflows, the CPU activities or both (`tl worker` runs the two
// in separate processes, workers/split.ts); GPU workers serve the GPU queue's activities.
import { NativeConnection, Worker, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Config } from '../lib/config';
import { ArtifactStore } from '../lib/store/store';
import { backendSummary, describeBackend, initBackend, passedOver, type BackendCandidate, type BackendName } from '../lib/tf/backend';
import { createActivities } from '../activities';
import { connectWithDiagnosis, describeTemporalSecurity, temporalConnectionOptions } from '../temporal/connection';
import { badInputInterceptors } from './bad-input';

export type QueueKind = 'cpu' | 'gpu';
/** What one worker serves: workflow tasks, activity tasks, or both. */
export type WorkerRole = 'workflows' | 'activities' | 'both';

/** Which backend the worker's activities run on, and why the faster candidates were passed over. */
export interface WorkerBackend {
  name: BackendName;
  candidate: BackendCandidate;
  description: string;
  passedOver: { name: BackendCandidate; reason: string }[];
}

export interface WorkerHandle {
  worker: Worker;
  /** Absent for a workflows-only worker, which computes nothing. */
  backend?: WorkerBackend;
  taskQueue: string;
  connection: NativeConnection;
}

let runtimeInstalled = false;

export async function createWorker(config: Config, queue: QueueKind, log: (line: string) => void, role: WorkerRole = queue === 'cpu' ? 'both' : 'activities'): Promise<WorkerHandle> {
  if (queue === 'gpu' && role !== 'activities') throw new Error('the GPU queue carries activities only: workflows run on the CPU queue');
  const workflows = role !== 'activities';
  const activities = role !== 'workflows';
  // A workflows-only worker computes nothing: it needs no TensorFlow.js backend.
  const backend = activities ? await initBackend({ queue, forced: config.backend }) : undefined;
  if (backend) {
    const tried = backend.tried.map((t) => (t.error ? `${t.name} (unavailable: ${t.error.split('\n')[0]})` : t.name)).join(' → ');
    log(`backend: ${describeBackend(backend)} [tried ${tried}]`);
  }
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
    ...(workflows ? { workflowsPath: require.resolve('../workflows') } : {}),
    ...(backend ? { activities: createActivities(() => ({ config, store, backend: backendSummary(backend) })) } : {}),
    interceptors: {
      ...(workflows ? { workflowModules: [require.resolve('../workflows/activity-summaries')] } : {}),
      // Every process that runs activities (cpu, gpu, the split worker's activities process) comes here.
      ...(backend ? { activity: [badInputInterceptors] } : {}),
    },
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
  return {
    worker,
    backend: backend && { name: backend.name, candidate: backend.candidate, description: describeBackend(backend), passedOver: passedOver(backend) },
    taskQueue,
    connection,
  };
}

/** The line a worker logs once it polls (people and tests wait for "worker serving task queue"). */
export function servingLine(config: Config, taskQueue: string, serves = ''): string {
  return `worker serving task queue ${taskQueue} on ${config.temporal.address} (namespace ${config.temporal.namespace}, ${describeTemporalSecurity(config)}${serves ? `; ${serves}` : ''})`;
}
