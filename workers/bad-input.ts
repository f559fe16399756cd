// Bad input cannot be fixed by retrying: an activity that throws a BadInputError fails for good,
// with the error's name as the failure type and its message unchanged, so the CLI can show it in
// one line. Installed on every worker that runs activities (workers/worker.ts).
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { BadInputError } from '../lib/errors';

/** The failure an activity reports for `err`: non-retryable for bad input, `err` itself otherwise. */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof BadInputError) {
    return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true, cause: err });
  }
  return err;
}

const badInputInbound: ActivityInboundCallsInterceptor = {
  async execute(input, next) {
    try {
      return await next(input);
    } catch (err) {
      throw asActivityFailure(err);
    }
  },
};

export const badInputInterceptors: ActivityInterceptorsFactory = () => ({ inbound: badInputInbound });
