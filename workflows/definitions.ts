// Signals and queries shared by workflows, activities and the CLI.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RunProgress, StepProgress } from '../lib/pipeline-types';

export const progressQuery = defineQuery<RunProgress>('progress');
export const stepProgressSignal = defineSignal<[StepProgress]>('stepProgress');
