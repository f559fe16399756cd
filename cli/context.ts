// What every command's action uses: the configuration, read on first use, and the output
// streams. With --json, stdout carries one JSON document, errors included; human text goes to stderr.
import type { Command } from 'commander';
import { loadConfig, type Config } from '../lib/config';

export const out = (line: string): void => void process.stdout.write(`${line}\n`);
export const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
export const note = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * Known before parsing, for errors raised while parsing; actions ask `wantsJson(cmd)`, which
 * reads the program's --json.
 */
export const jsonMode = process.argv.includes('--json');

export const wantsJson = (cmd: Command): boolean => cmd.optsWithGlobals().json === true;

/** A command's result: the JSON document with --json, else its human lines. */
export function emit<T>(cmd: Command, value: T, lines: (value: T) => string | string[]): void {
  if (wantsJson(cmd)) return json(value);
  const text = lines(value);
  (Array.isArray(text) ? text : [text]).forEach(out);
}

/** Human progress lines: stdout normally, stderr with --json. */
export const log = (cmd: Command): ((line: string) => void) => (wantsJson(cmd) ? note : out);

let cachedConfig: Config | undefined;
/** Config is read once, on first use, so `tl --help` works even with a bad environment. */
export const config = (): Config => (cachedConfig ??= loadConfig());
