/** Finding and loading build/cce.fatbin (the CUDA kernels nvcc built with the package). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CudaContext, CudaModule, cudaUnavailableReason } from '@cutrec/tensor';

let image: Uint8Array | undefined;
let imageReason: string | undefined;
const modules = new WeakMap<CudaContext, CudaModule>();

/** build/cce.fatbin next to dist/ (published) or src/cuda/ (tests), or $CUTREC_CUDA_FATBIN. */
function fatbinPath(): string | undefined {
  const candidates = [
    process.env.CUTREC_CUDA_FATBIN,
    fileURLToPath(new URL('../build/cce.fatbin', import.meta.url)),
    fileURLToPath(new URL('../../build/cce.fatbin', import.meta.url)),
  ].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p));
}

function loadImage(): Uint8Array | undefined {
  if (image || imageReason) return image;
  const path = fatbinPath();
  if (!path) {
    imageReason =
      'CUDA unavailable: build/cce.fatbin is missing (the package was built without nvcc; rebuild with nvcc on PATH)';
    return undefined;
  }
  image = new Uint8Array(readFileSync(path));
  return image;
}

/** Why impl 'cuda' cannot run here ("CUDA unavailable: …"), or undefined when it can. */
export function cudaKernelsUnavailableReason(): string | undefined {
  const driver = cudaUnavailableReason();
  if (driver) return driver;
  loadImage();
  return imageReason;
}

/** Whether impl 'cuda' can run: a driver, a device and the built fatbin. */
export function cudaKernelsAvailable(): boolean {
  return cudaKernelsUnavailableReason() === undefined;
}

/** The kernels' module in `context` (loaded once per context). */
export function cceModule(context: CudaContext = CudaContext.get()): CudaModule {
  let m = modules.get(context);
  if (!m) {
    const why = cudaKernelsUnavailableReason();
    if (why) throw new Error(why);
    m = new CudaModule(loadImage() as Uint8Array, context);
    modules.set(context, m);
  }
  return m;
}
