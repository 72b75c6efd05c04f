import { CudaContext, requireCuda } from './device.js';
import { DeviceBuffer } from './memory.js';
import type { NativeKernel, NativeModule } from './native.js';
import type { CudaStream } from './stream.js';

/** A loaded CUDA module (fatbin, cubin or PTX) and its kernels. */
export class CudaModule {
  /** @internal */
  readonly native: NativeModule;
  readonly context: CudaContext;
  private kernels = new Map<string, CudaKernel>();

  /** Loads a module image (cuModuleLoadData) into `context`. */
  constructor(image: Uint8Array, context: CudaContext = CudaContext.get()) {
    this.context = context;
    this.native = new (requireCuda().Module)(context.native, image);
  }

  /** The kernel named `name` (its extern "C" name); throws CUDA_ERROR_NOT_FOUND when missing. */
  kernel(name: string): CudaKernel {
    let k = this.kernels.get(name);
    if (!k) {
      k = new CudaKernel(this.native.getFunction(name));
      this.kernels.set(name, k);
    }
    return k;
  }

  /** Unloads the module now (otherwise when collected). */
  unload(): void {
    this.kernels.clear();
    this.native.unload();
  }
}

/** One typed kernel parameter. */
export type KernelArg =
  | { ptr: DeviceBuffer | bigint | null }
  | { i32: number }
  | { u32: number }
  | { f32: number }
  | { u64: number | bigint }
  /** A struct passed by value: its bytes, laid out as the kernel declares it. */
  | { bytes: ArrayBufferView };

/** A kernel of a {@link CudaModule}. */
export class CudaKernel {
  private maxDynamicShared = 48 * 1024;

  /** @internal */
  constructor(readonly native: NativeKernel) {}

  get name(): string {
    return this.native.name;
  }

  /** Lets launches use up to `bytes` of dynamic shared memory (above 48 KiB needs this). */
  allowSharedMemory(bytes: number): void {
    if (bytes > this.maxDynamicShared) {
      this.native.setMaxDynamicSharedMemory(bytes);
      this.maxDynamicShared = bytes;
    }
  }
}

/** Launch geometry of {@link launch}. */
export interface LaunchConfig {
  grid: number | [number, number?, number?];
  block: number | [number, number?, number?];
  /** Dynamic shared memory in bytes (default 0). */
  sharedBytes?: number;
  /** Default: the legacy default stream. */
  stream?: CudaStream | null;
}

const dims = (d: LaunchConfig['grid']): number[] =>
  typeof d === 'number' ? [d, 1, 1] : [d[0], d[1] ?? 1, d[2] ?? 1];

/** Launches `kernel` with typed arguments (cuLaunchKernel); returns at once (the work is queued). */
export function launch(kernel: CudaKernel, config: LaunchConfig, args: KernelArg[]): void {
  let types = '';
  const values: unknown[] = [];
  for (const a of args) {
    if ('ptr' in a) {
      types += 'p';
      values.push(a.ptr instanceof DeviceBuffer ? a.ptr.native : a.ptr);
    } else if ('i32' in a) {
      types += 'i';
      values.push(a.i32);
    } else if ('u32' in a) {
      types += 'u';
      values.push(a.u32);
    } else if ('f32' in a) {
      types += 'f';
      values.push(a.f32);
    } else if ('bytes' in a) {
      types += 'b';
      values.push(a.bytes);
    } else {
      types += 'q';
      values.push(a.u64);
    }
  }
  const shared = config.sharedBytes ?? 0;
  if (shared > 48 * 1024) kernel.allowSharedMemory(shared);
  kernel.native.launch(
    dims(config.grid),
    dims(config.block),
    shared,
    config.stream?.native ?? null,
    types,
    values,
  );
}
