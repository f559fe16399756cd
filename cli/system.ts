// Facts about the machine the CLI runs on, for any command: who is running it, what is on PATH.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Who is asking, recorded in the registries with a promotion or a new backbone. */
export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The first executable `name` on PATH, or undefined. */
export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
