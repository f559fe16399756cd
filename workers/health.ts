// The worker's own health over HTTP, for Kubernetes probes: 200 while the worker polls its queue,
// 503 once it stops (shutting down, or its connection to Temporal failed for good).
import * as http from 'node:http';
import type { Worker } from '@temporalio/worker';

export function serveHealth(worker: Worker, port: number, taskQueue: string): http.Server {
  const server = http.createServer((req, res) => {
    const state = worker.getState();
    const healthy = state === 'RUNNING';
    res.writeHead(req.url === '/healthz' ? (healthy ? 200 : 503) : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ state, taskQueue }));
  });
  server.listen(port);
  server.unref(); // never what keeps a stopped worker's process alive
  return server;
}
