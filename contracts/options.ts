// How a pipeline option is offered on the command line. Each pipeline's options are one zod
// schema (contracts/lab-cnn.ts, contracts/transfer.ts); a field with a flag becomes a `tl run`
// and `tl schedule create` option (cli/flags.ts), its type and range checked by
// the schema, and the workflow checks the same schema again on its input.
import { z } from 'zod';

export interface FlagMeta {
  /** Commander flags, e.g. `--epochs <n>`, or `--no-augment` for a boolean that defaults to true. */
  flags: string;
  description: string;
  /** The value is JSON, or the name of a file holding it (e.g. --stages). */
  json?: boolean;
}

/** Fields that are command-line flags, with their metadata; fields not in it are not flags. */
export const cliFlags = z.registry<FlagMeta>();

/** Marks a schema field as a command-line flag. */
export function flag<T extends z.ZodType>(schema: T, flags: string, description: string, extra: Omit<FlagMeta, 'flags' | 'description'> = {}): T {
  cliFlags.add(schema, { flags, description, ...extra });
  return schema;
}

/** A pipeline's options: an object schema whose output is what the workflow receives. */
export type OptionsSchema = z.ZodObject<z.ZodRawShape>;

/** The random seed, the same for every pipeline. */
export const seedField = () => flag(z.number().int().min(0).max(2 ** 31 - 1).default(42), '--seed <n>', 'random seed');

/**
 * Parses a workflow's options: defaults filled in, unknown fields dropped. A bad value throws
 * an Error naming each field (`batchSize: Too big: expected number to be <=1024`).
 */
export function parseOptions<S extends OptionsSchema>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`invalid options: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** `stages[1].learningRate: Too big…; seed: …`: each issue with the path it is about. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${pathText(i.path)}: ${i.message}`).join('; ');
}

export function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}
