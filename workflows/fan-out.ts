// Bounded fan-out for steps that run one activity per shard. Two bounds keep a run within
// Temporal's limits at any dataset size:
//   - a sliding window: at most `window` activities in flight (Temporal refuses more than
//     2,000 pending per execution, and a fleet of workers needs far fewer to stay busy);
//   - partitions: past SHARDS_PER_EXECUTION shards the work runs as child workflows of that
//     many shards each, so no execution's history passes ~10,000 events (each shard costs
//     about six: its activity's three and a workflow task's three).
// Results are folded into a summary as they finish; nothing per shard is kept.
import { executeChild, workflowInfo } from '@temporalio/workflow';

export const SHARDS_PER_EXECUTION = 1000;

/** A range of shards, and how many of their activities may run at once. */
export interface ShardRange {
  from: number;
  to: number;
  window: number;
}

/**
 * Runs `run(i)` for every i in [from, to), at most `window` at a time, folding results in
 * completion order; `onEach` (when given) hears each one finish.
 */
export async function slidingWindow<R, S>(range: ShardRange, run: (i: number) => Promise<R>, fold: (summary: S, result: R) => S, empty: S, onEach?: () => void): Promise<S> {
  let summary = empty;
  let next = range.from;
  const lane = async () => {
    while (next < range.to) {
      const result = await run(next++);
      // Read `summary` only after the await: the other lanes have folded into it meanwhile.
      summary = fold(summary, result);
      onEach?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(range.window, range.to - range.from)) }, lane));
  return summary;
}

/**
 * Runs `step` over shards [0, total): inline when they fit one execution, else as one child
 * workflow per partition, one after another (so the window bounds the whole step).
 * `onFinished` hears how many shards have finished: one at a time inline, a partition at a time otherwise.
 */
export async function partitioned<I extends object, S>(
  step: (input: I & ShardRange, onShard?: () => void) => Promise<S>,
  input: I,
  total: number,
  window: number,
  merge: (a: S, b: S) => S,
  empty: S,
  onFinished: (shards: number) => void,
): Promise<S> {
  if (total <= SHARDS_PER_EXECUTION) return step({ ...input, from: 0, to: total, window }, () => onFinished(1));
  let summary = empty;
  for (let from = 0, part = 0; from < total; from += SHARDS_PER_EXECUTION, part++) {
    const to = Math.min(total, from + SHARDS_PER_EXECUTION);
    const result = await executeChild(step, {
      workflowId: `${workflowInfo().workflowId}-${step.name}-${part}`,
      args: [{ ...input, from, to, window }],
    });
    summary = merge(summary, result);
    onFinished(to - from);
  }
  return summary;
}
