/**
 * How the kernels get their negatives: the sampler's WGSL (`samplerWGSL` from @cutrec/sampler,
 * bit-identical to `negatives()`), wrapped as `neg_draw(grp, j)` that returns the item and the
 * logit correction log(K·q(item)) (0 without logQ); and the sampler's buffers for a call.
 */
import { type SamplerKind, type SamplerSpec, samplerBuffers, samplerWGSL } from '@cutrec/sampler';
import { createBufferFrom, memoryMeter } from '@cutrec/tensor';
import { inBatchTables } from './inbatch.js';
import type { Step } from './runner.js';

/** Which sampler a kernel draws from and whether it corrects logits by logQ. */
export interface NegConfig {
  kind: SamplerKind;
  logQ: boolean;
}

/** Number of storage bindings the sampler adds after a kernel's own. */
export function negBindingCount(cfg: NegConfig): number {
  // inBatch adds the candidates' count, which the GPU computes (see inbatch.ts).
  return samplerWGSL(cfg.kind, { group: 0, binding: 1 }).bindings + (cfg.kind === 'inBatch' ? 1 : 0);
}

/** WGSL of `struct NegDraw { item: u32, corr: f32 }` and `neg_draw(grp, j)`, with the sampler bound from `binding`. */
export function negativesWGSL(cfg: NegConfig, binding: number): string {
  const s = samplerWGSL(cfg.kind, { group: 0, binding });
  const corr = cfg.logQ ? 'P.log_k + d.log_q' : '0.0';
  const n = cfg.kind === 'inBatch' ? 'cutrec_inbatch_count[0]' : 'P.num_items';
  const count =
    cfg.kind === 'inBatch'
      ? `@group(0) @binding(${binding + s.bindings}) var<storage, read> cutrec_inbatch_count: array<u32>;`
      : '';
  return `${s.code}
${count}
struct NegDraw {
  item: u32,
  corr: f32,
}

// Negative j of group grp: its item (0xffffffff when there is none) and log(K q(item)) under logQ.
fn neg_draw(grp: u32, j: u32) -> NegDraw {
  let d = cutrec_draw(vec2<u32>(P.key0, P.key1), grp, j, P.stream, ${n});
  return NegDraw(d.item, ${corr});
}
`;
}

/** The sampler's buffers of one call (created, counted by the meter) and the `n` its draw takes. */
export interface NegBuffers {
  buffers: GPUBuffer[];
  n: number;
  /** Steps to run before the kernels (inBatch builds its tables on the GPU). */
  steps: Step[];
  release(): void;
}

/** Builds the in-batch tables on the GPU from the targets' buffer. */
export function inBatchNegBuffers(
  device: GPUDevice,
  targets: GPUBuffer,
  N: number,
  C: number,
  ignoreIndex: number,
): NegBuffers {
  const t = inBatchTables(device, targets, N, C, ignoreIndex);
  return { buffers: [...t.sampler, t.count], n: 0, steps: t.steps, release: t.release };
}

/** Uploads the sampler's tables for `spec` (uniform: none; popularity: the alias table). */
export function uploadNegBuffers(device: GPUDevice, spec: SamplerSpec): NegBuffers {
  const { arrays, n } = samplerBuffers(spec);
  const meter = memoryMeter();
  const buffers = arrays.map((a) => meter.track(createBufferFrom(device, a, 0, 'cutrec-sampler')));
  return {
    buffers,
    n,
    steps: [],
    release: () => {
      for (const b of buffers) meter.destroy(b);
    },
  };
}
