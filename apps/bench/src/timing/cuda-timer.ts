/** Device time of CUDA work through CUDA events recorded on the default stream before and after it. */
import { CudaContext, CudaEvent } from '@cutrec/tensor';

/** Runs `fn` (which launches CUDA work on the default stream) and returns its device milliseconds. */
export function cudaTime(fn: () => unknown, ctx: CudaContext = CudaContext.get()): number {
  const e0 = new CudaEvent(ctx);
  const e1 = new CudaEvent(ctx);
  try {
    e0.record();
    fn();
    e1.record();
    return e0.elapsedMs(e1);
  } finally {
    e0.destroy();
    e1.destroy();
  }
}
