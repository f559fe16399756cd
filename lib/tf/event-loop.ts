// tfjs on wasm computes synchronously and its promises resolve as microtasks, so a
// training loop never lets the event loop run I/O by itself. Awaiting this between
// batches keeps heartbeats, gRPC and workflow tasks flowing in the same process.
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
