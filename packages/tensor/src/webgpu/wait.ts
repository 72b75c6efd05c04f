/**
 * Waiting for WebGPU work without burning a CPU core. Dawn's Node binding (the `webgpu` package)
 * polls for a pending `mapAsync` or `onSubmittedWorkDone` by re-queuing a `setImmediate` that
 * processes its events, so the main thread spins for as long as anything is pending. On a
 * software adapter (lavapipe) the "GPU" is the CPU's other threads, and the spinning thread takes
 * a core from them: a training step on a 2-core VM ran 1.5–1.7× slower (packages/models/BENCHMARKS.md).
 */
import { isNode } from './device.js';

/** Options of {@link waitQuietly}. */
export interface QuietWaitOptions {
  /** How long the thread sleeps between two turns of the event loop (ms). Default 1. */
  sliceMs?: number;
}

let cell: Int32Array | undefined;

/** Sleeps the calling thread for `ms` (Node's main thread may block; a browser's may not). */
function sleepThread(ms: number): void {
  cell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(cell, 0, 0, ms);
}

/**
 * Resolves (or rejects) as `p` does. In Node, until `p` settles, the thread alternates a sleep of
 * `sliceMs` with one turn of the event loop (in which Dawn processes its events once), instead of
 * letting Dawn's polling spin; elsewhere (a browser) it is `p` itself. Timers, I/O and signal
 * handlers still run, each at most `sliceMs` late.
 */
export async function waitQuietly<T>(p: Promise<T>, options: QuietWaitOptions = {}): Promise<T> {
  if (!isNode() || typeof setImmediate !== 'function') return p;
  const sliceMs = options.sliceMs ?? 1;
  let settled = false;
  const mark = () => {
    settled = true;
  };
  p.then(mark, mark);
  // One turn first: a promise that is already done (or settles at the next poll) costs no sleep.
  await new Promise<void>((done) => setImmediate(done));
  while (!settled) {
    sleepThread(sliceMs);
    await new Promise<void>((done) => setImmediate(done));
  }
  return p;
}
