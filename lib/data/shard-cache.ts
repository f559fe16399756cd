// A least-recently-used cache of loaded values with a budget in bytes. It holds promises, so
// two readers asking for the same shard share one download; a failed load is dropped, so the
// next ask tries again.

interface Entry<V> {
  value: Promise<V>;
  bytes: number;
}

export class ByteBudgetCache<K, V> {
  /** Map order is use order: the first entry is the least recently used. */
  private readonly entries = new Map<K, Entry<V>>();
  private held = 0;

  constructor(readonly budgetBytes: number) {}

  /** Bytes of the values held (or being loaded). */
  get heldBytes(): number {
    return this.held;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /**
   * The value for `key`, loaded on a miss. Making room evicts the least recently used entries
   * except those in `keep` (what the caller needs right now); when only those are left, the
   * cache runs over its budget rather than fail.
   */
  get(key: K, bytes: number, load: () => Promise<V>, keep: ReadonlySet<K> = new Set()): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    this.makeRoom(bytes, new Set([...keep, key]));
    return this.insert(key, bytes, load);
  }

  /**
   * Starts loading `key` ahead of need, but only into room that evicts nothing in `keep`: a
   * read-ahead must never push out what is being read now.
   */
  prefetch(key: K, bytes: number, load: () => Promise<V>, keep: ReadonlySet<K>): boolean {
    if (this.entries.has(key)) return true;
    if (!this.makeRoom(bytes, keep)) return false;
    // The load's error, if any, is for the reader that asks for it later.
    this.insert(key, bytes, load).catch(() => undefined);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  private insert(key: K, bytes: number, load: () => Promise<V>): Promise<V> {
    const value = load();
    const entry = { value, bytes };
    this.entries.set(key, entry);
    this.held += bytes;
    value.catch(() => {
      if (this.entries.get(key) === entry) this.drop(key);
    });
    return value;
  }

  /** Evicts until `bytes` more fit; false when the entries in `keep` alone leave too little room. */
  private makeRoom(bytes: number, keep: ReadonlySet<K>): boolean {
    for (const key of [...this.entries.keys()]) {
      if (this.held + bytes <= this.budgetBytes) break;
      if (!keep.has(key)) this.drop(key);
    }
    return this.held + bytes <= this.budgetBytes;
  }

  private drop(key: K): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
  }
}
