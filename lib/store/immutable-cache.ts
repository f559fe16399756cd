// Content-addressed records (plans, manifests) never change under their key, so a worker can
// parse each once and serve every activity that reads it: at a million images a plan or a
// manifest is tens of megabytes of JSON, and thousands of shard activities read the same one.
import { ByteBudgetCache } from '../data/shard-cache';
import type { ArtifactStore } from './store';

/**
 * The last `capacity` parsed immutable records of each store (a bucket). The promise-valued LRU
 * of the shard reader serves, each record counting one: concurrent readers share one read, a
 * failed read is not remembered.
 */
export function immutableRecords<T>(capacity: number): (store: ArtifactStore, key: string, read: () => Promise<T>) => Promise<T> {
  const byStore = new WeakMap<ArtifactStore, ByteBudgetCache<string, T>>();
  return (store, key, read) => {
    let records = byStore.get(store);
    if (!records) byStore.set(store, (records = new ByteBudgetCache<string, T>(capacity)));
    return records.get(key, 1, read);
  };
}
