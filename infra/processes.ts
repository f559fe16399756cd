// Detached server processes tracked by pid files. Only stack.ts uses this.
// A pid file is trusted only while /proc/<pid>/cmdline still names the binary we started,
// so a pid recycled by an unrelated process is never signalled.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Written via rename so a concurrent reader never sees a half-written file. */
export function writePidFile(file: string, pid: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export function removePidFile(file: string): void {
  fs.rmSync(file, { force: true });
}

/** False for processes that are gone or zombies (exited, not yet reaped: they hold no ports). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '');
  } catch {
    return [];
  }
}

/** True when pid is alive and is `binary` (we always spawn by absolute path, so argv[0] is that path). */
export function isProcessOf(pid: number, binary: string): boolean {
  if (!isAlive(pid)) return false;
  const first = cmdline(pid)[0] ?? '';
  // nginx rewrites its master's argv[0] to "nginx: master process <binary> <args>".
  return first === binary || first.startsWith(`${path.basename(binary)}: master process ${binary}`);
}

export type PidFileState =
  | { kind: 'none' }
  | { kind: 'running'; pid: number }
  | { kind: 'stale'; pid: number }; // pid file left behind: process gone or pid now used by something else

export function pidFileState(pidFile: string, binary: string): PidFileState {
  const pid = readPidFile(pidFile);
  if (pid === undefined) return { kind: 'none' };
  return isProcessOf(pid, binary) ? { kind: 'running', pid } : { kind: 'stale', pid };
}

export interface Started {
  pid: number;
  /** Set once the child exits (only observable from the process that spawned it). */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Starts `binary` in its own session (detached) so it outlives this CLI, with stdout/stderr
 * appended to logFile, and records its pid in pidFile.
 */
export function startDetached(binary: string, args: string[], opts: { logFile: string; pidFile: string; env: NodeJS.ProcessEnv }): Started {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(opts.logFile, 'a', 0o600);
  try {
    fs.writeSync(fd, `\n=== ${new Date().toISOString()} tl stack up: ${binary} ${args.join(' ')}\n`);
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], env: opts.env, cwd: path.dirname(opts.logFile) });
    if (child.pid === undefined) throw new Error(`could not start ${binary} (see ${opts.logFile})`);
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (code, signal) => (exited = { code, signal }));
    child.on('error', () => (exited ??= { code: null, signal: null }));
    child.unref();
    writePidFile(opts.pidFile, child.pid);
    return { pid: child.pid, exit: () => exited };
  } finally {
    fs.closeSync(fd); // the child holds its own copy of the descriptor
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

/** SIGTERM, then SIGKILL after graceMs. Re-checks the binary before each signal. */
export async function stopProcess(pid: number, binary: string, graceMs = 15_000): Promise<'terminated' | 'killed' | 'gone'> {
  if (!isProcessOf(pid, binary)) return 'gone';
  process.kill(pid, 'SIGTERM');
  if (await waitGone(pid, graceMs)) return 'terminated';
  if (!isProcessOf(pid, binary)) return 'terminated';
  process.kill(pid, 'SIGKILL');
  if (await waitGone(pid, 5_000)) return 'killed';
  throw new Error(`pid ${pid} (${binary}) survived SIGKILL`);
}

/** True when host:port cannot be bound, i.e. some process (any user, any bind address) holds it. */
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(true);
      else reject(err);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 8): string {
  // Only the end of the file: logs grow across restarts.
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 16_384));
    fs.readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
