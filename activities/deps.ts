// What activities need from the worker process: validated config and the artifact store.
import type { Config } from '../lib/config';
import type { ArtifactStore } from '../lib/store/store';

export interface ActivityContext {
  config: Config;
  store: ArtifactStore;
  backend: string;
}

export type ActivityDeps = () => ActivityContext;
