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
  fill32(value: number, offset?: number, count?: number, stream?: NativeStream | null): void;
  copyFrom(src: NativeMemory, dstOffset?: number, srcOffset?: number, bytes?: number): void;
  copyFromAsync(
    src: NativeMemory,
    dstOffset: number,
    srcOffset: number,
    bytes: number,
    stream: NativeStream | null,
  ): void;
  uploadAsync(
    host: NativeHostMemory,
    hostOffset: number,
    deviceOffset: number,
    bytes: number | undefined,
    stream: NativeStream | null,
  ): void;
  downloadAsync(
    host: NativeHostMemory,
    hostOffset: number,
    deviceOffset: number,
    bytes: number | undefined,
    stream: NativeStream | null,
  ): void;
}
export interface NativeHostMemory {
  readonly bytes: number;
  readonly freed: boolean;
  readonly arrayBuffer: ArrayBuffer;
  free(): void;
}
export interface NativeStream {
  synchronize(): void;
  query(): boolean;
  waitEvent(event: NativeEvent): void;
  beginCapture(): void;
  endCapture(): NativeGraph;
  destroy(): void;
}
export interface NativeEvent {
  record(stream?: NativeStream | null): void;
  synchronize(): void;
  query(): boolean;
  elapsedMs(end: NativeEvent): number;
  destroy(): void;
}
export interface NativeGraph {
  readonly nodeCount: number;
  launch(stream: NativeStream | null): void;
  destroy(): void;
}
/** The plain-number descriptor the addon's GemmPlan takes (cudaDataType / cublasComputeType_t codes). */
export interface NativeGemmDesc {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  lda: number;
  ldb: number;
  ldc: number;
  typeA: number;
  typeB: number;
  typeC: number;
  compute: number;
  /** cudaDataType of the bias vector, -1 for none. */
  biasType: number;
  /** 0: none; 1: bias gradient of A (CUBLASLT_EPILOGUE_BGRADA); 2: of B (BGRADB). */
  biasGrad: number;
  batchCount: number;
  strideA: number;
  strideB: number;
  strideC: number;
  alignment: number;
  workspaceBytes: number;
  /** Index among the heuristic's usable results. */
  algorithm: number;
}
export interface NativeGemmPlan {
  readonly workspaceBytes: number;
  readonly algorithms: number;
  run(
    a: bigint,
    b: bigint,
    c: bigint,
    d: bigint | undefined,
    bias: bigint | undefined,
    alpha: number | undefined,
    beta: number | undefined,
    stream: NativeStream | null,
  ): void;
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
  Event: new (ctx: NativeContext, timing?: boolean) => NativeEvent;
  Module: new (ctx: NativeContext, image: Uint8Array) => NativeModule;
  HostMemory: new (ctx: NativeContext, bytes: number) => NativeHostMemory;
  GemmPlan: new (ctx: NativeContext, desc: NativeGemmDesc) => NativeGemmPlan;
  cublasLtLoad(candidates: string[]): { ok: boolean; path: string; version: number; reason: string };
  probe(): { available: boolean; reason: string; driverVersion: number };
  deviceCount(): number;
  deviceProps(ordinal: number): NativeDeviceProps;
  meterRead(): { current: number; peak: number };
  meterResetPeak(): void;
  firstOutside(values: Int32Array, lo: number, hi: number, except: number): number;
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
