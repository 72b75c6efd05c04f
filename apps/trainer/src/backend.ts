/** The tfjs backend of a run: WebGPU (Dawn in Node) or the CPU, with GPU errors and memory tracked. */
import { cudaKernelsUnavailableReason } from '@cutrec/kernels';
import { cudaMemoryMeter, deviceInfo, memoryMeter, NoAdapterError, setupTfjs } from '@cutrec/tensor';
import { ConfigError } from './config/load.js';

/** What a run trains on, and how it reads peak GPU memory. */
export interface Backend {
  name: 'webgpu' | 'cpu';
  /** The adapter's description (WebGPU), null on the CPU. */
  device: string | null;
  /** Why 'auto' chose the CPU. */
  fallbackReason?: string;
  /** Starts a new peak. */
  resetPeak(): void;
  /** Peak GPU bytes since the last reset (WebGPU meter, plus CUDA's with impl 'cuda'); null on the CPU without CUDA. */
  peak(): number | null;
  /** A GPU error the device reported asynchronously (out of memory, device lost), if any; cleared on read. */
  takeError(): Error | undefined;
}

/** Throws, before any device or folder is touched, where `--impl cuda` cannot run here. */
export function checkLossImpl(impl: string): void {
  const why = impl === 'cuda' ? cudaKernelsUnavailableReason() : undefined;
  if (why) throw new ConfigError(`--impl cuda: ${why}; use --impl auto to train without CUDA`);
}

/** tfjs on `choice`, with "no adapter" for an explicit `--backend webgpu` said in one line. */
async function setupTfjsOn(choice: 'auto' | 'webgpu' | 'cpu') {
  try {
    // The probe keeps Dawn's native warnings (no Vulkan driver) off stderr; --verbose shows them.
    return await setupTfjs({ backend: choice, probe: true });
  } catch (err) {
    if (!(err instanceof NoAdapterError)) throw err;
    const e = new ConfigError(
      '--backend webgpu: no WebGPU adapter (Dawn needs a Vulkan driver: a GPU driver, or Mesa lavapipe without a GPU; `npx cutrec info` says more); use --backend cpu, or install a Vulkan driver',
    );
    e.stack = err.stack;
    throw e;
  }
}

/** Sets tfjs up on `choice` ('auto': WebGPU when an adapter exists, else the CPU). */
export async function setupBackend(
  choice: 'auto' | 'webgpu' | 'cpu',
  impl: string,
  fusedCuda = false,
): Promise<Backend> {
  const setup = await setupTfjsOn(choice);
  const useCuda = impl === 'cuda' || fusedCuda;
  let pending: Error | undefined;
  if (setup.backend === 'webgpu' && setup.device) {
    const device = setup.device;
    const info = deviceInfo(device);
    device.lost.then((l) => {
      if (l.reason !== 'destroyed')
        pending ??= new Error(`the GPU device was lost: ${l.message || l.reason}`);
    });
    device.addEventListener?.('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      const oom = err?.constructor?.name === 'GPUOutOfMemoryError';
      pending ??= new Error(`${oom ? 'out of memory: ' : ''}WebGPU error: ${err?.message ?? String(err)}`);
    });
    const meter = memoryMeter();
    return {
      name: 'webgpu',
      device: [info.description, info.vendor].filter(Boolean).join(', ') || 'WebGPU adapter',
      resetPeak: () => {
        meter.resetPeak();
        if (useCuda) cudaMemoryMeter().resetPeak();
      },
      peak: () => meter.read().peak + (useCuda ? cudaMemoryMeter().read().peak : 0),
      takeError: () => {
        const e = pending;
        pending = undefined;
        return e;
      },
    };
  }
  return {
    name: 'cpu',
    device: null,
    ...(setup.fallbackReason ? { fallbackReason: setup.fallbackReason.split('\n')[0]! } : {}),
    resetPeak: () => {
      if (useCuda) cudaMemoryMeter().resetPeak();
    },
    peak: () => (useCuda ? cudaMemoryMeter().read().peak : null),
    takeError: () => undefined,
  };
}
