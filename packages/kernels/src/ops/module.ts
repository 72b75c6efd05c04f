/**
 * Finding and loading the layer ops' CUDA modules: `build/ops/<op>.fatbin`, one per op folder
 * (src/ops/<op>/<op>.cu), built by cuda/build.mjs where nvcc exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CudaContext, CudaModule, cudaUnavailableReason } from '@cutrec/tensor';

const images = new Map<string, Uint8Array>();
const modules = new WeakMap<CudaContext, Map<string, CudaModule>>();

/** build/ops/<op>.fatbin next to dist/ (published) or src/ops/ (tests). */
function fatbinPath(op: string): string | undefined {
  return [
    fileURLToPath(new URL(`../build/ops/${op}.fatbin`, import.meta.url)),
    fileURLToPath(new URL(`../../build/ops/${op}.fatbin`, import.meta.url)),
  ].find((p) => existsSync(p));
}

/** Why op `op`'s CUDA kernels cannot run here ("CUDA unavailable: …"), or undefined when they can. */
export function opUnavailableReason(op: string): string | undefined {
  const driver = cudaUnavailableReason();
  if (driver) return driver;
  if (images.has(op) || fatbinPath(op)) return undefined;
  return `CUDA unavailable: build/ops/${op}.fatbin is missing (the package was built without nvcc; rebuild with nvcc on PATH)`;
}

/** The CUDA module of op `op` in `context` (loaded once per context). */
export function opModule(op: string, context: CudaContext = CudaContext.get()): CudaModule {
  let byOp = modules.get(context);
  if (!byOp) {
    byOp = new Map();
    modules.set(context, byOp);
  }
  let m = byOp.get(op);
  if (!m) {
    const why = opUnavailableReason(op);
    if (why) throw new Error(why);
    let image = images.get(op);
    if (!image) {
      image = new Uint8Array(readFileSync(fatbinPath(op) as string));
      images.set(op, image);
    }
    m = new CudaModule(image, context);
    byOp.set(op, m);
  }
  return m;
}
