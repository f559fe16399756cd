// Command-line flags made from option schemas (contracts/options.ts), and the flags several
// commands share. A schema field with a flag becomes a Commander option; after parsing, the
// values given on the command line are checked against the schema and come back as options.
import * as fs from 'node:fs';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { cliFlags, pathText, type FlagMeta, type OptionsSchema } from '../contracts/options';
import { CliError, EXIT } from './errors';

/** One flagged field of a schema. */
export interface FlagField {
  key: string;
  meta: FlagMeta;
  field: z.ZodType;
  /** The field without its default/optional wrappers: what the flag's value is. */
  base: z.ZodType;
  /** The schema's default, when it has one. */
  defaultValue?: unknown;
  /** No default and not optional: the flag must be given. */
  required: boolean;
  /** Long flag (`--epochs`) and the key Commander stores its value under (`epochs`). */
  long: string;
  attribute: string;
}

function unwrap(field: z.ZodType): z.ZodType {
  let t = field;
  while (t instanceof z.ZodDefault || t instanceof z.ZodOptional) t = t.unwrap() as z.ZodType;
  return t;
}

/** The schema's flagged fields, in the schema's order. */
export function flagFields(schema: OptionsSchema): FlagField[] {
  return Object.entries(schema.shape).flatMap(([key, value]) => {
    const field = value as z.ZodType;
    const meta = cliFlags.get(field);
    if (!meta) return [];
    const probe = new Option(meta.flags);
    const empty = field.safeParse(undefined);
    return [{ key, meta, field, base: unwrap(field), defaultValue: empty.success ? empty.data : undefined, required: !empty.success, long: probe.long!, attribute: probe.attributeName() }];
  });
}

const isNumber = (t: z.ZodType): t is z.ZodNumber => t instanceof z.ZodNumber;

function rangeText(t: z.ZodNumber): string {
  const { minValue: min, maxValue: max } = t;
  const finite = (x: number | null): x is number => x !== null && Number.isFinite(x);
  if (finite(min) && finite(max)) return `from ${min} to ${max}`;
  if (finite(min)) return `of at least ${min}`;
  if (finite(max)) return `of at most ${max}`;
  return '';
}

/** `training epochs (1 to 1000, default 10)`: the range and default come from the schema. */
function helpText(f: FlagField): string {
  const { description } = f.meta;
  const range = isNumber(f.base) ? rangeText(f.base).replace(/^from (\S+) to (\S+)$/, '$1 to $2') : '';
  // Enum defaults are shown by Commander next to the choices; booleans need none.
  const schemaDefault = f.defaultValue === undefined || f.base instanceof z.ZodEnum || f.base instanceof z.ZodBoolean ? undefined : String(f.defaultValue);
  if (!range) return schemaDefault === undefined ? description : `${description} (default ${schemaDefault})`;
  const stated = /^(.*) \(default:? ([^)]*)\)$/.exec(description);
  if (stated) return `${stated[1]} (${range}, default ${stated[2]})`;
  return `${description} (${range}${schemaDefault === undefined ? '' : `, default ${schemaDefault}`})`;
}

export interface AddFlagsOptions {
  /** Help heading for these flags. */
  group?: string;
  /** Replacement descriptions, by field key (e.g. a default that depends on the pipeline). */
  describe?: Record<string, string>;
  /** Plain descriptions without ranges or defaults, and no mandatory flags: for commands that take several schemas' flags. */
  plain?: boolean;
}

/** The Commander option for one field. Values stay strings: the schema checks them after parsing. */
export function optionFor(f: FlagField, opts: AddFlagsOptions = {}): Option {
  const description = opts.describe?.[f.key] ?? (opts.plain ? f.meta.description : helpText(f));
  const option = new Option(f.meta.flags, description);
  if (f.base instanceof z.ZodEnum) {
    option.choices(f.base.options.map(String));
    if (f.defaultValue !== undefined && !opts.plain) option.default(f.defaultValue);
  }
  if (f.required && !opts.plain) option.makeOptionMandatory();
  if (opts.group) option.helpGroup(opts.group);
  return option;
}

/** Adds a flag for each flagged field of `schema` to `cmd`. */
export function addSchemaFlags(cmd: Command, schema: OptionsSchema, opts: AddFlagsOptions = {}): Command {
  for (const f of flagFields(schema)) cmd.addOption(optionFor(f, opts));
  return cmd;
}

/** Was this option given on the command line (for a pair --x/--no-x: this one of the two)? */
function given(cmd: Command, option: Option): boolean {
  if (cmd.getOptionValueSource(option.attributeName()) !== 'cli') return false;
  const value: unknown = cmd.getOptionValue(option.attributeName());
  return option.negate ? value === false : value !== false;
}

/** The long flags given on the command line. */
export function givenFlags(cmd: Command): string[] {
  return cmd.options.filter((o) => given(cmd, o)).map((o) => o.long!);
}

function usage(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

/** A flag's text as the field's type: numbers checked against the field's range, JSON parsed. */
function valueOf(f: FlagField, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  if (isNumber(f.base)) {
    const value = Number(raw);
    const integer = f.base.isInt;
    const wellFormed = integer ? /^-?\d+$/.test(raw) : raw.trim() !== '' && Number.isFinite(value);
    if (!wellFormed || !f.base.safeParse(value).success) {
      throw usage(`${f.long} ${JSON.stringify(raw)} is invalid: expected ${integer ? 'an integer' : 'a number'} ${rangeText(f.base)}`.trimEnd());
    }
    return value;
  }
  if (f.meta.json) {
    const array = f.base instanceof z.ZodArray;
    const text = /^\s*[[{]/.test(raw) ? raw : readFileOr(raw, `${f.long} ${JSON.stringify(raw)} is neither ${array ? 'a JSON array' : 'JSON'} nor a readable file`);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw usage(`${f.long}: ${f.key}: not valid JSON: ${(err as Error).message}`);
    }
  }
  return raw;
}

function readFileOr(file: string, message: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw usage(message);
  }
}

/**
 * The options `cmd`'s parsed flags ask for, checked against `schema` with its defaults filled
 * in. A bad value is a usage error naming the flag: `--epochs "ten" is invalid: expected an
 * integer from 1 to 1000`, `--stages: stages[0].epochs: Too small: …`.
 */
export function schemaOptions<S extends OptionsSchema>(cmd: Command, schema: S): z.output<S> {
  const fields = flagFields(schema);
  const input: Record<string, unknown> = {};
  for (const f of fields) {
    const option = cmd.options.find((o) => o.long === f.long);
    if (option && given(cmd, option)) input[f.key] = valueOf(f, cmd.getOptionValue(f.attribute));
    else if (f.required) throw usage(`required option '${f.meta.flags}' not specified`);
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const flagOf = (key: PropertyKey) => fields.find((f) => f.key === key)?.long ?? String(key);
    throw usage(parsed.error.issues.map((i) => `${flagOf(i.path[0]!)}: ${pathText(i.path)}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

// ---- Flags several commands share ----

export const reasonFlag = () => new Option('--reason <text>', 'why, for the history');
export const noteFlag = (description: string) => new Option('--note <text>', description);
export const idFlag = () => new Option('--id <run-id>', 'workflow id to use (default: generated)');
export const waitFlag = (prints: string) => new Option('--wait', `follow the run with a progress bar and print ${prints}`);
