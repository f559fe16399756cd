// Labelled feature rows read a chunk at a time, so a solver can make full passes over data
// larger than memory: it sees each row once per pass and never holds more than a chunk.

export interface FeatureRows {
  /** Rows over all chunks. */
  count: number;
  /**
   * Calls visit once per chunk, in the same order every pass, and waits for it before reading
   * on: x is rows × dim (row-major), y the rows' labels. The arrays may be reused or cached
   * by the source, so a visitor must not keep or modify them.
   */
  forEachChunk(visit: (x: Float32Array, y: Uint8Array, rows: number) => Promise<void>): Promise<void>;
}

/** Rows already in memory, as one chunk or as chunks of at most chunkRows rows. */
export function inMemoryRows(split: { x: Float32Array; y: Uint8Array }, dim: number, chunkRows = split.y.length): FeatureRows {
  const count = split.y.length;
  if (split.x.length !== count * dim) throw new Error(`feature rows: x has ${split.x.length} values, expected ${count} × ${dim}`);
  const step = Math.max(1, chunkRows);
  return {
    count,
    async forEachChunk(visit) {
      for (let start = 0; start < count; start += step) {
        const rows = Math.min(step, count - start);
        await visit(split.x.subarray(start * dim, (start + rows) * dim), split.y.subarray(start, start + rows), rows);
      }
    },
  };
}
