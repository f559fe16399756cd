// How activities are retried after a fault (a crashed worker, S3 or Temporal briefly away).
// Bad input is not retried at all: workers fail it as non-retryable (workers/bad-input.ts).
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';

/** Backoff 1 s, 2 s, 4 s … capped at 30 s: eight attempts ride out about 90 s of outage. */
export const FAULT_RETRY: RetryPolicy = { maximumAttempts: 8, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' };

/** Training also loses attempts to worker crashes, and resumes from a checkpoint each time. */
export const TRAINING_RETRY: RetryPolicy = { ...FAULT_RETRY, maximumAttempts: 12 };

/** A transfer run's CPU-queue activities (the per-shard ones included): minutes each, heartbeating. */
export const CPU_STEP: ActivityOptions = { startToCloseTimeout: '30 minutes', heartbeatTimeout: '2 minutes', retry: FAULT_RETRY };
