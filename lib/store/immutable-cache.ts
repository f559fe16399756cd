// Content-addressed records (plans, manifests) never change under their key, so a worker can
// parse each once and serve every activity that reads it: at a million images a plan or a
// manifest is tens of megabytes of JSON, and thousands of shard activities read the same one.
import type { ArtifactStore } from './store';

/** A small LRU of parsed immutable records per store (a bucket), promise-valued so concurrent readers share one read. */
export function immutableRecords<T>(capacity: number): (store: ArtifactStore, key: string, read: () => Promise<T>) => Promise<T> {
  const byStore = new WeakMap<ArtifactStore, Map<string, Promise<T>>>();
  return (store, key, read) => {
    let entries = byStore.get(store);
    if (!entries) byStore.set(store, (entries = new Map()));
    const hit = entries.get(key);
    if (hit) {
      // Re-insert: Map order is the recency order.
      entries.delete(key);
      entries.set(key, hit);
      return hit;
    }
    const loading = read();
    entries.set(key, loading);
    // A failed read is not remembered: the next caller tries again.
    loading.catch(() => entries!.get(key) === loading && entries!.delete(key));
    while (entries.size > capacity) entries.delete(entries.keys().next().value!);
    return loading;
  };
}
