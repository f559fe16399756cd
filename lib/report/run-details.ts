// What every run report ends with: which steps reused cached artifacts (and under which key),
// how long each step took, and where it ran.
import { duration, int, isNum } from './format';
import type { Table } from './table';
import type { StepTiming } from './charts';

export type { StepTiming } from './charts';

export interface CacheDecision {
  step: string;
  cached: boolean;
  /** The artifact the decision was made on: reused when cached, written when not. */
  key?: string;
  reason: string;
}

export function cacheTable(decisions: CacheDecision[]): Table {
  return {
    head: ['Step', 'Cached', 'Key', 'Reason'],
    rows: decisions.map((c) => [c.step, c.cached ? 'yes' : 'no', c.key ?? '–', c.reason]),
  };
}

export function stepTimingsTable(steps: StepTiming[]): Table {
  const sum = (f: (s: StepTiming) => number | undefined) => steps.reduce((a, s) => a + (isNum(f(s)) ? f(s)! : 0), 0);
  const opt = (x: number | undefined) => (isNum(x) ? duration(x) : '–');
  // Older reports have no backends: no empty column for them.
  const backends = steps.some((s) => s.backend);
  const backend = (s: StepTiming) => (backends ? [s.backend ?? '–'] : []);
  return {
    head: ['Step', 'Worker time', 'Activities', 'Wall time', ...(backends ? ['Backend'] : [])],
    rows: [
      ...steps.map((s) => [s.step, opt(s.seconds), isNum(s.activities) ? int(s.activities) : '–', opt(s.wallSeconds), ...backend(s)]),
      ['Total', duration(sum((s) => s.seconds)), int(sum((s) => s.activities)), duration(sum((s) => s.wallSeconds)), ...(backends ? [''] : [])],
    ],
    numeric: [1, 2, 3],
  };
}

/** Steps in the workflow's order, joining worker-measured seconds with the workflow's wall time. */
export function joinStepTimings(
  order: string[],
  worker: Record<string, { seconds: number; activities: number; backend?: string; breakdown?: Record<string, number> } | undefined>,
  wall: Record<string, number>,
): StepTiming[] {
  return order
    .filter((step) => worker[step] || isNum(wall[step]))
    .map((step) => ({
      step,
      ...(worker[step] ? { seconds: worker[step]!.seconds, activities: worker[step]!.activities } : {}),
      ...(isNum(wall[step]) ? { wallSeconds: wall[step] } : {}),
      ...(worker[step]?.backend ? { backend: worker[step]!.backend } : {}),
      ...(worker[step]?.breakdown ? { breakdown: worker[step]!.breakdown } : {}),
    }));
}

/** What every evaluate activity knows about itself when it builds its report. */
export interface EvaluationFacts {
  /** The evaluating worker's environment rows (backend, library versions, cores). */
  environment: Record<string, string | number>;
  /** The backend the evaluation ran on. */
  backend: string;
  /** Seconds the evaluate activity has run so far (the report's own writing is not counted). */
  evaluateSeconds: number;
  createdAt: string;
}
