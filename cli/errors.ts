// Errors the CLI reports in one line, with the exit code each one maps to.
export const EXIT = { ok: 0, failure: 1, usage: 2, stackDown: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class StackDownError extends CliError {
  constructor(what: string) {
    super(`${what}: the local stack is not running; start it with \`tl stack up\` (or \`npm run stack:up\`)`, EXIT.stackDown);
    this.name = 'StackDownError';
  }
}

/** Runs `body`; errors `isUsage` accepts (the caller's to fix) become one-line usage errors. */
export async function asUsageErrors<T>(isUsage: (err: Error) => boolean, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof Error && isUsage(err)) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/** Integer option parser for commander that names the flag and the expected range. */
export function intOption(flag: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      throw new CliError(`${flag} ${JSON.stringify(raw)} is invalid: expected an integer from ${min} to ${max}`, EXIT.usage);
    }
    return value;
  };
}
