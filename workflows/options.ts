// A workflow's options are checked against their pipeline's schema before any step runs: input
// that did not come through the CLI (a schedule made by hand, an old client) fails the run at
// once, naming the field, instead of failing an activity later.
import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { parseOptions, type OptionsSchema } from '../contracts';

export function validOptions<S extends OptionsSchema>(schema: S, value: unknown): z.output<S> {
  try {
    return parseOptions(schema, value);
  } catch (err) {
    throw ApplicationFailure.create({ type: 'InvalidOptions', message: (err as Error).message, nonRetryable: true });
  }
}
