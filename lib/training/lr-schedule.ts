// Per-step learning rates for a fine-tuning stage: a linear warm-up from near zero (so the
// first steps on newly unfrozen layers cannot wreck their pretrained weights), then cosine
// decay to a small floor by the stage's last step.
export type LrSchedule = 'constant' | 'warmup-cosine';
export const LR_SCHEDULES: readonly LrSchedule[] = ['constant', 'warmup-cosine'];

/** Share of a stage's steps spent warming up, and the floor as a share of the base rate. */
export const WARMUP_FRACTION = 0.1;
export const COSINE_FLOOR = 0.01;

/**
 * The rate for step `step` (0-based) of `total` steps. Steps past `total` (they do not happen
 * in a stage, but a resumed loop must not divide by zero) stay at the floor.
 */
export function learningRateAt(schedule: LrSchedule, base: number, step: number, total: number): number {
  if (schedule === 'constant' || total <= 1) return base;
  const warmup = Math.max(1, Math.round(total * WARMUP_FRACTION));
  if (step < warmup) return (base * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - 1 - warmup));
  return base * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
