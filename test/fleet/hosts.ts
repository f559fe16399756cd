// Worker "hosts" for the fleet test: network namespaces that scripts/test-fleet.sh joined to the
// stack's namespace by veth pairs. A worker runs on a host through `ip netns exec`; a host's link
// can be cut like a pulled cable.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { TL_BIN } from '../integration/harness';

export interface Host {
  ns: string;
  /** The host's end of its veth pair. */
  link: string;
}

/** The worker hosts the script made (TL_FLEET_WORKER_NS), or none when run outside it. */
export function fleetHosts(): Host[] {
  const names = (process.env.TL_FLEET_WORKER_NS ?? '').split(/\s+/).filter(Boolean);
  return names.map((ns, i) => ({ ns, link: `tlf-h${i + 1}` }));
}

export function cutLink(host: Host): void {
  execFileSync('ip', ['netns', 'exec', host.ns, 'ip', 'link', 'set', host.link, 'down']);
}

export interface HostWorker {
  host: Host;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/** Starts `tl worker` on a host; resolves once it serves (or rejects with its output when it exits first). */
export async function startWorkerOn(host: Host, env: NodeJS.ProcessEnv, queue: 'cpu' | 'gpu'): Promise<HostWorker> {
  // `ip netns exec` execs the command in place, so the child's pid is the worker's own.
  const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, TL_BIN, 'worker', '--queue', queue], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const worker: HostWorker = {
    host,
    child,
    output: () => log,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker on ${host.ns} did not start within 120 s:\n${log}`)), 120_000);
    child.stdout!.on('data', () => {
      if (log.includes('worker serving task queue')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`worker on ${host.ns} exited with ${code} before serving:\n${log}`), { worker }));
    });
  });
  return worker;
}
