import { type NativeAddon, type NativeContext, type NativeDeviceProps, nativeAddon } from './native.js';

/** Whether CUDA can be used here: the addon is built, libcuda.so.1 loads and a device exists. */
export function cudaAvailable(): boolean {
  return cudaUnavailableReason() === undefined;
}

/** Why CUDA cannot be used ("CUDA unavailable: <reason>"), or undefined when it can. */
export function cudaUnavailableReason(): string | undefined {
  const { addon, reason } = nativeAddon();
  if (!addon) return `CUDA unavailable: ${reason}`;
  const p = addon.probe();
  return p.available ? undefined : `CUDA unavailable: ${p.reason}`;
}

/** The addon, or an Error "CUDA unavailable: <reason>". */
export function requireCuda(): NativeAddon {
  const why = cudaUnavailableReason();
  if (why) throw new Error(why);
  return nativeAddon().addon as NativeAddon;
}

/** A CUDA device's properties as plain data (JSON-serialisable). */
export interface CudaDeviceInfo extends NativeDeviceProps {
  api: 'cuda';
  /** Compute capability as "major.minor". */
  computeCapability: string;
  /** CUDA driver version as reported by cuDriverGetVersion (e.g. 12080). */
  driverVersion: number;
}

/** All CUDA devices and their properties; [] when CUDA is unavailable. */
export function cudaDevices(): CudaDeviceInfo[] {
  if (!cudaAvailable()) return [];
  const addon = requireCuda();
  const driverVersion = addon.probe().driverVersion;
  const out: CudaDeviceInfo[] = [];
  for (let i = 0; i < addon.deviceCount(); i++) {
    const p = addon.deviceProps(i);
    out.push({ api: 'cuda', ...p, computeCapability: `${p.major}.${p.minor}`, driverVersion });
  }
  return out;
}

const contexts = new Map<number, CudaContext>();

/** The primary context of one CUDA device: where buffers, streams, modules and launches live. */
export class CudaContext {
  /** @internal the addon's context object */
  readonly native: NativeContext;
  readonly device: CudaDeviceInfo;

  private constructor(ordinal: number) {
    const addon = requireCuda();
    const count = addon.deviceCount();
    if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= count) {
      throw new RangeError(`ordinal must be an integer in [0, ${count}), got ${ordinal}`);
    }
    this.native = new addon.Context(ordinal);
    const p = addon.deviceProps(ordinal);
    this.device = {
      api: 'cuda',
      ...p,
      computeCapability: `${p.major}.${p.minor}`,
      driverVersion: addon.probe().driverVersion,
    };
  }

  /** The (shared) context of device `ordinal` (default 0); throws "CUDA unavailable: …" without a driver. */
  static get(ordinal = 0): CudaContext {
    let ctx = contexts.get(ordinal);
    if (!ctx) {
      ctx = new CudaContext(ordinal);
      contexts.set(ordinal, ctx);
    }
    return ctx;
  }

  /** Waits for all work queued in this context. */
  synchronize(): void {
    this.native.synchronize();
  }

  /** Free and total device memory in bytes, as the driver sees it (all processes). */
  memInfo(): { free: number; total: number } {
    return this.native.memInfo();
  }
}
