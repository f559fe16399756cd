// Installs the pinned server binaries into <stateDir>/bin with `go install`.
// Building from source (rather than downloading release archives) needs only the Go module
// proxy, which is reachable even where GitHub release downloads are not.
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface GoTool {
  name: 'temporal' | 'minio';
  /** Package to `go install`. */
  pkg: string;
  /** Module that package belongs to, as `go version -m` reports it. */
  module: string;
  version: string;
}

export const TOOLS: Record<GoTool['name'], GoTool> = {
  // Temporal CLI with its embedded dev server (Temporal Server 1.29.1, UI 2.42.1).
  temporal: { name: 'temporal', pkg: 'github.com/temporalio/cli/cmd/temporal', module: 'github.com/temporalio/cli', version: 'v1.5.1' },
  // MinIO publishes no semver module versions, only commit pseudo-versions. The commit of
  // RELEASE.2025-10-15T17-29-55Z (9e49d5e7a648) is not served by the module proxy here,
  // so this pins the nearest pseudo-version the proxy does serve (master, 2026-02-12).
  minio: { name: 'minio', pkg: 'github.com/minio/minio', module: 'github.com/minio/minio', version: 'v0.0.0-20260212201848-7aac2a2c5b7c' },
};

export interface InstallLog {
  (line: string): void;
}

class GoMissingError extends Error {}

async function go(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('go', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GoMissingError('go not found on PATH');
    throw err;
  }
}

/** The module version a Go binary was built from (`go version -m`), or undefined if it is not `tool`. */
async function builtVersion(binary: string, tool: GoTool): Promise<string | undefined> {
  let out: string;
  try {
    out = await go(['version', '-m', binary]);
  } catch (err) {
    if (err instanceof GoMissingError) throw err;
    return undefined; // not a Go binary, or unreadable
  }
  const pkg = /^\tpath\t(\S+)/m.exec(out)?.[1];
  const mod = /^\tmod\t(\S+)\t(\S+)/m.exec(out);
  if (pkg !== tool.pkg || mod?.[1] !== tool.module) return undefined;
  return mod[2];
}

/** Directories where `go install` may already have put a binary (GOBIN, else each GOPATH entry's bin). */
async function goInstallDirs(): Promise<string[]> {
  const [gopath = '', gobin = ''] = (await go(['env', 'GOPATH', 'GOBIN'])).split('\n');
  const dirs = gobin ? [gobin] : [];
  for (const p of gopath.split(path.delimiter)) if (p) dirs.push(path.join(p, 'bin'));
  return dirs;
}

/** Copies via a temporary name and rename, so a half-copied binary is never executed. */
function copyExecutable(from: string, to: string): void {
  const tmp = `${to}.${process.pid}.tmp`;
  fs.copyFileSync(from, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, to);
}

async function goInstall(tool: GoTool, binDir: string, log: InstallLog): Promise<void> {
  const spec = `${tool.pkg}@${tool.version}`;
  log(`${tool.name}: building from source: GOBIN=${binDir} go install ${spec} (first build takes several minutes; later ones reuse the Go build cache)`);
  const started = Date.now();
  const child = spawn('go', ['install', spec], { env: { ...process.env, GOBIN: binDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (!line.startsWith('go: downloading')) log(`${tool.name}: ${line}`); // downloads are noise
    });
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new GoMissingError('go not found on PATH') : err));
    child.once('close', resolve);
  });
  if (code !== 0) {
    throw new Error(`go install ${spec} failed (exit ${code}):\n${output.slice(-15).join('\n')}`);
  }
  log(`${tool.name}: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Where `tl stack up` keeps the server binaries of a state directory. */
export function stackBinDir(stateDir: string): string {
  return path.join(stateDir, 'bin');
}

/** Where `tool` is once installed in binDir. */
export function installedPath(tool: GoTool, binDir: string): string {
  return path.join(binDir, tool.name);
}

/**
 * Returns the absolute path of `tool` in binDir, installing it first if it is missing or was
 * built from another version. A binary of the same module version already built by `go install`
 * elsewhere (GOBIN / GOPATH/bin) is copied instead of rebuilt.
 */
export async function ensureInstalled(tool: GoTool, binDir: string, log: InstallLog): Promise<string> {
  fs.mkdirSync(binDir, { recursive: true, mode: 0o700 });
  const dest = installedPath(tool, binDir);
  try {
    if (fs.existsSync(dest)) {
      const have = await builtVersion(dest, tool);
      if (have === tool.version) {
        log(`${tool.name}: ${tool.version} installed at ${dest}`);
        return dest;
      }
      log(`${tool.name}: ${dest} is ${have ?? 'not a known build'}, want ${tool.version}: reinstalling`);
    }
    for (const dir of await goInstallDirs()) {
      const candidate = path.join(dir, tool.name);
      if (path.resolve(candidate) === path.resolve(dest) || !fs.existsSync(candidate)) continue;
      if ((await builtVersion(candidate, tool)) === tool.version) {
        log(`${tool.name}: copying ${candidate} (already built from ${tool.module}@${tool.version}) to ${dest}`);
        copyExecutable(candidate, dest);
        return dest;
      }
    }
    await goInstall(tool, binDir, log);
  } catch (err) {
    if (!(err instanceof GoMissingError)) throw err;
    // Without Go we cannot check versions; an existing binary is the best we have.
    if (fs.existsSync(dest)) {
      log(`${tool.name}: go not found, using ${dest} without checking its version`);
      return dest;
    }
    throw new Error(
      `${tool.name} is not installed and Go is not on PATH: install Go 1.25+ (https://go.dev/dl/) ` +
        `so \`tl stack up\` can run \`go install ${tool.pkg}@${tool.version}\`, or put the binary at ${dest}`,
    );
  }
  const built = await builtVersion(dest, tool).catch(() => undefined);
  if (built !== tool.version) throw new Error(`go install finished but ${dest} reports ${built ?? 'no version'}, not ${tool.version}`);
  return dest;
}
