import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's classes and functions (native/cutrec_cuda.cc); wrapped by the exports of this folder. */
export interface NativeContext {
  readonly ordinal: number;
  synchronize(): void;
  memInfo(): { free: number; total: number };
}
export interface NativeMemory {
  readonly address: bigint;
  readonly bytes: number;
  readonly freed: boolean;
  free(): void;
  upload(src: ArrayBufferView | ArrayBuffer, dstOffset?: number): void;
  download(dst: ArrayBufferView | ArrayBuffer, srcOffset?: number): void;
  fill32(value: number, offset?: number, count?: number): void;
  copyFrom(src: NativeMemory, dstOffset?: number, srcOffset?: number, bytes?: number): void;
}
export interface NativeStream {
  synchronize(): void;
  destroy(): void;
}
export interface NativeEvent {
  record(stream?: NativeStream | null): void;
  synchronize(): void;
  elapsedMs(end: NativeEvent): number;
  destroy(): void;
}
export interface NativeKernel {
  readonly name: string;
  launch(
    grid: number[],
    block: number[],
    sharedBytes: number,
    stream: NativeStream | null,
    types: string,
    values: unknown[],
  ): void;
  setMaxDynamicSharedMemory(bytes: number): void;
}
export interface NativeModule {
  getFunction(name: string): NativeKernel;
  unload(): void;
}
export interface NativeDeviceProps {
  ordinal: number;
  name: string;
  major: number;
  minor: number;
  smCount: number;
  totalMemory: number;
  l2Bytes: number;
  maxThreadsPerBlock: number;
  sharedMemoryPerBlockOptin: number;
  sharedMemoryPerSm: number;
  clockKHz: number;
  memoryClockKHz: number;
  memoryBusWidth: number;
  pciBusId: number;
}
export interface NativeAddon {
  Context: new (ordinal: number) => NativeContext;
  DeviceMemory: new (ctx: NativeContext, bytes: number) => NativeMemory;
  Stream: new (ctx: NativeContext, nonBlocking?: boolean) => NativeStream;
  Event: new (ctx: NativeContext) => NativeEvent;
  Module: new (ctx: NativeContext, image: Uint8Array) => NativeModule;
  probe(): { available: boolean; reason: string; driverVersion: number };
  deviceCount(): number;
  deviceProps(ordinal: number): NativeDeviceProps;
  meterRead(): { current: number; peak: number };
  meterResetPeak(): void;
}

let loaded: { addon: NativeAddon | undefined; reason: string } | undefined;

/** Where the built addon may be: $CUTREC_CUDA_ADDON, then build/Release next to dist/ or src/cuda/. */
function candidates(): string[] {
  const out: string[] = [];
  if (process.env.CUTREC_CUDA_ADDON) out.push(process.env.CUTREC_CUDA_ADDON);
  for (const rel of ['../build/Release/cutrec_cuda.node', '../../build/Release/cutrec_cuda.node']) {
    out.push(fileURLToPath(new URL(rel, import.meta.url)));
  }
  return out;
}

/** The addon, or undefined with the reason it could not be loaded (not built, or a load error). */
export function nativeAddon(): { addon: NativeAddon | undefined; reason: string } {
  if (loaded) return loaded;
  const path = candidates().find((p) => existsSync(p));
  if (!path) {
    loaded = {
      addon: undefined,
      reason: 'the cutrec_cuda addon is not built (run `npm run build -w @cutrec/tensor`)',
    };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    loaded = { addon, reason: '' };
  } catch (err) {
    loaded = { addon: undefined, reason: `the cutrec_cuda addon failed to load: ${(err as Error).message}` };
  }
  return loaded;
}
