// Signals and queries shared by workflows, activities and the CLI.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RunProgress, StepProgress } from './progress';

/** The workflow's recorded progress; clients merge in live heartbeats (lib/progress.ts). */
export const progressQuery = defineQuery<RunProgress>('progress');
/** A boundary record from a long activity (an epoch's end), sent at most every few minutes. */
export const recordProgressSignal = defineSignal<[StepProgress]>('recordProgress');
