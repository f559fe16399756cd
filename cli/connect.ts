// Connections from the CLI to Temporal and S3, with a one-line answer when the stack is down.
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config';
import { diagnoseTls, temporalConnectionOptions } from '../temporal/connection';
import { ArtifactStore } from '../lib/store/store';
import { StackDownError } from './errors';

export async function connectTemporal(config: Config): Promise<Client> {
  let connection: Connection;
  const options = temporalConnectionOptions(config); // a missing certificate file is its own error
  try {
    connection = await Connection.connect({ ...options, connectTimeout: '3 seconds' });
  } catch {
    const why = await diagnoseTls(options);
    if (why) throw new Error(`Temporal refused the connection: ${why}`);
    throw new StackDownError(`Temporal is not reachable at ${config.temporal.address}`);
  }
  return new Client({ connection, namespace: config.temporal.namespace });
}

export async function connectStore(config: Config): Promise<ArtifactStore> {
  let store: ArtifactStore;
  try {
    store = ArtifactStore.fromConfig(config);
    await store.ensureBucket();
  } catch (err) {
    if ((err as Error).name === 'ConfigError') throw err;
    throw new StackDownError(`S3 is not reachable at ${config.s3.endpoint}`);
  }
  return store;
}

