import type { NativeGraph } from './native.js';
import type { CudaStream } from './stream.js';

/**
 * A CUDA graph captured from a stream and instantiated once, replayed with {@link CudaGraph.launch}.
 * Kernel launches, `fill32(…, stream)`, `copyFromAsync`, `uploadAsync`/`downloadAsync` and
 * `GemmPlan.run` queued on the capturing stream become its nodes, with their arguments as they were
 * at capture (device addresses, scalars, the pinned host addresses): a replay reruns exactly that
 * work on whatever the buffers then hold.
 */
export class CudaGraph {
  /** @internal */
  readonly native: NativeGraph;

  private constructor(native: NativeGraph) {
    this.native = native;
  }

  /**
   * Captures the work `fn` queues on `stream` (cuStreamBeginCapture, thread-local mode), ends the
   * capture and instantiates the graph. `fn` must be synchronous and must neither synchronise
   * (`write`, `read`, `copyFrom`, `synchronize`), allocate, nor use the legacy default stream. If `fn`
   * throws or the capture fails, the capture is ended, everything made is freed and an Error
   * "CUDA graph capture failed: …" is thrown (with the driver's `.code` when it has one, and `.cause`).
   */
  static capture(stream: CudaStream, fn: () => void): CudaGraph {
    try {
      stream.native.beginCapture();
    } catch (e) {
      throw captureError(e, undefined);
    }
    let fnError: unknown;
    let failed = false;
    try {
      const out = fn() as unknown;
      if (out && typeof (out as PromiseLike<unknown>).then === 'function') {
        throw new Error('the capture function returned a promise; it must queue its work synchronously');
      }
    } catch (e) {
      failed = true;
      fnError = e;
    }
    let graph: NativeGraph;
    try {
      graph = stream.native.endCapture();
    } catch (endError) {
      throw captureError(failed ? fnError : endError, failed ? endError : undefined);
    }
    if (failed) {
      graph.destroy();
      throw captureError(fnError, undefined);
    }
    return new CudaGraph(graph);
  }

  /** Nodes in the captured graph (kernels, memsets, copies, …). */
  get nodeCount(): number {
    return this.native.nodeCount;
  }

  /** Queues one replay of the graph on `stream` (cuGraphLaunch); no synchronisation. */
  launch(stream: CudaStream | null): void {
    this.native.launch(stream?.native ?? null);
  }

  /** Frees the executable graph and the graph (idempotent; otherwise when collected). */
  destroy(): void {
    this.native.destroy();
  }
}

const CAPTURE_HINT =
  ' — something synchronised, allocated or used the legacy default stream while the stream was being captured';

function captureError(primary: unknown, secondary: unknown): Error {
  const msg = primary instanceof Error ? primary.message : String(primary);
  const also = secondary instanceof Error ? ` (ending the capture: ${secondary.message})` : '';
  const hint = /STREAM_CAPTURE/.test(msg + also) ? CAPTURE_HINT : '';
  const err = new Error(`CUDA graph capture failed: ${msg}${hint}${also}`, { cause: primary }) as Error & {
    code?: string;
  };
  const code =
    (primary as { code?: unknown } | undefined)?.code ?? (secondary as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') err.code = code;
  return err;
}
