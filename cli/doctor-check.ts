// One line of `tl doctor`: what was checked, how it went, and what to do about it.
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or a fail. */
  fix?: string;
}
