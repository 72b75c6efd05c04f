/** The in-batch sampler's tables, built on the GPU: candidates, their log q, and their count. */
import { memoryMeter } from '@cutrec/tensor';
import { INBATCH_WG, inBatchWGSL } from './inbatch.wgsl.js';
import type { BindingKind, WgslProgram } from './program.js';
import type { Step } from './runner.js';

export class InBatchProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = INBATCH_WG;
  /** Bindings after params: targets, cand, logQ, hist, count. */
  readonly bindings: readonly BindingKind[] = ['uniform', 'read', 'rw', 'rw', 'rw', 'rw'];

  constructor(private readonly stage: 'compact' | 'logq') {
    this.key = `inbatch/${stage}`;
  }

  code(): string {
    return inBatchWGSL(this.stage);
  }
}

/** Buffers of the in-batch tables (counted by the meter): [cand, logQ] for the sampler, count for its n. */
export interface InBatchTables {
  sampler: GPUBuffer[];
  count: GPUBuffer;
  steps: Step[];
  release(): void;
}

/** Allocates the tables for N rows over C items and the steps that fill them from `targets`. */
export function inBatchTables(
  device: GPUDevice,
  targets: GPUBuffer,
  N: number,
  C: number,
  ignoreIndex: number,
): InBatchTables {
  const meter = memoryMeter();
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const mk = (bytes: number, label: string) =>
    meter.createBuffer(device, { size: Math.max(4, bytes), usage, label });
  const cand = mk(N * 4, 'cutrec-inbatch-cand');
  const logQ = mk(N * 4, 'cutrec-inbatch-logq');
  const hist = mk(C * 4, 'cutrec-inbatch-hist');
  const count = mk(4, 'cutrec-inbatch-count');
  const buffers = [
    { buffer: targets, size: Math.max(4, N * 4) },
    { buffer: cand },
    { buffer: logQ },
    { buffer: hist },
    { buffer: count },
  ];
  const params = { n_rows: N, ignore_index: ignoreIndex };
  return {
    sampler: [cand, logQ],
    count,
    steps: [
      { clear: hist },
      { program: new InBatchProgram('compact'), params, buffers, units: 1 },
      { program: new InBatchProgram('logq'), params, buffers, units: Math.ceil(N / INBATCH_WG) },
    ],
    release: () => {
      for (const b of [cand, logQ, hist, count]) meter.destroy(b);
    },
  };
}
