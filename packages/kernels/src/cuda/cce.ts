/**
 * The CCE- loss on CUDA device tensors, copying nothing: `cudaCceForward` / `cudaCceBackward`
 * take hidden [N, D] and items [C, D] (float32, float16 or bfloat16) and int32 targets [N] as
 * {@link CudaTensor}s and return float32 device buffers. The only host traffic is the kernels'
 * argument block, the popularity alias table on first use (cached per table), and for the
 * 'inBatch' sampler the N targets (to build the candidate list; pass `hostTargets` to skip it).
 */
import { type AliasTable, samplerBuffers, seedKey } from '@cutrec/sampler';
import { type CudaContext, type CudaStream, type CudaTensor, DeviceBuffer, launch } from '@cutrec/tensor';
import type { CceOptions, ResolvedCceOptions } from '../options.js';
import { resolveOptions } from '../resolve.js';
import { MODE, packCceArgs, SAMPLER_KIND } from './args.js';
import { cceModule } from './module.js';
import { type CudaKernelChoice, type F32Precision, planKernel } from './plan.js';

/** CUDA-only settings of a call. */
export interface CudaCallOptions {
  /**
   * 'auto' (default): tile kernel on tensor cores for block/batch/all where it fits (in bf16 its
   * mma.sync form where D = 32·n ≤ 256), else 'row'; 'tile-wmma' forces the tile kernel's WMMA form.
   */
  kernel?: CudaKernelChoice;
  /** float32 inputs on tensor cores: 'tf32x3' (default; split operands, fp32-accurate) or 'tf32' (faster). */
  f32Precision?: F32Precision;
  /** Stream to queue on (default: the legacy default stream). */
  stream?: CudaStream | null;
  /**
   * Row kernel backward: passes over item ranges so each pass's dItems rows stay in L2 (default:
   * enough passes for dItems/pass ≤ 60% of L2, at most 16).
   */
  rowPasses?: number;
  /** The targets on the host, for the 'inBatch' sampler (otherwise they are read back). */
  hostTargets?: Int32Array;
  /**
   * Device address of a u32 holding the sampler's stream, read by the kernel (instead of
   * `options.step`), so a CUDA graph replayed every step draws fresh negatives.
   */
  streamPtr?: bigint;
  /** Backward: add into dItems as it is instead of zeroing it first (default false). */
  accumulateItems?: boolean;
}

/** What `cudaCceForward` returns: per-row loss (0 for ignored rows) and log-sum-exp, float32 [N]. */
export interface CudaCceForward {
  loss: DeviceBuffer;
  lse: DeviceBuffer;
  /** The kernel that ran (e.g. 'cce_tile_fwd_bf16'). */
  kernel: string;
}

/** What `cudaCceBackward` returns: float32 dHidden [N, D] and dItems [C, D]. */
export interface CudaCceBackward {
  dHidden: DeviceBuffer;
  dItems: DeviceBuffer;
  kernel: string;
}

const FLOAT_DTYPES = ['float32', 'float16', 'bfloat16'];

function check(
  hidden: CudaTensor,
  items: CudaTensor,
  targets: CudaTensor,
): { N: number; C: number; D: number } {
  if (hidden.shape.length !== 2) throw new RangeError(`hidden must be [N, D], got shape [${hidden.shape}]`);
  if (items.shape.length !== 2) throw new RangeError(`items must be [C, D], got shape [${items.shape}]`);
  const [N, D] = hidden.shape as [number, number];
  const [C, D2] = items.shape as [number, number];
  if (D !== D2) throw new RangeError(`hidden has D = ${D} but items has D = ${D2}`);
  if (!FLOAT_DTYPES.includes(hidden.dtype))
    throw new TypeError(`hidden.dtype must be float32, float16 or bfloat16, got ${hidden.dtype}`);
  if (items.dtype !== hidden.dtype)
    throw new TypeError(`items.dtype (${items.dtype}) must equal hidden.dtype (${hidden.dtype})`);
  if (targets.dtype !== 'int32' || targets.shape.length !== 1 || targets.shape[0] !== N) {
    throw new RangeError(`targets must be int32 [${N}], got ${targets.dtype} [${targets.shape}]`);
  }
  if (C < 1) throw new RangeError('items must have at least one row (C ≥ 1)');
  if (C * D >= 2 ** 53 || C > 0x7fffffff || N > 0x7fffffff)
    throw new RangeError('cudaCce: N and C must be < 2^31');
  const elt = hidden.dtype === 'float32' ? 4 : 2;
  if (hidden.buffer.bytes < N * D * elt)
    throw new RangeError(
      `hidden.buffer holds ${hidden.buffer.bytes} bytes; [${N}, ${D}] needs ${N * D * elt}`,
    );
  if (items.buffer.bytes < C * D * elt)
    throw new RangeError(`items.buffer holds ${items.buffer.bytes} bytes; [${C}, ${D}] needs ${C * D * elt}`);
  return { N, C, D };
}

// Popularity tables stay on the device for as long as the table object lives.
const tableCache = new WeakMap<object, { ctx: CudaContext; bufs: DeviceBuffer[] }>();

interface SamplerDevice {
  kind: number;
  n: number;
  bufs: (DeviceBuffer | undefined)[];
  temporary: DeviceBuffer[];
}

function samplerOnDevice(
  o: ResolvedCceOptions,
  C: number,
  targets: CudaTensor,
  ctx: CudaContext,
  call: CudaCallOptions,
): SamplerDevice {
  if (o.negatives === 'all' || o.sampler === 'uniform')
    return { kind: SAMPLER_KIND.uniform, n: C, bufs: [], temporary: [] };
  const base = { numItems: C, seed: o.seed, share: o.share, blockRows: o.blockRows };
  if (o.sampler === 'popularity') {
    const table = o.aliasTable as AliasTable;
    let hit = tableCache.get(table);
    if (!hit || hit.ctx !== ctx) {
      const { arrays } = samplerBuffers({ ...base, kind: 'popularity', table });
      hit = { ctx, bufs: arrays.map((a) => DeviceBuffer.from(a, ctx)) };
      tableCache.set(table, hit);
    }
    return { kind: SAMPLER_KIND.popularity, n: C, bufs: hit.bufs, temporary: [] };
  }
  const host = call.hostTargets ?? targets.buffer.read(new Int32Array(targets.shape[0] ?? 0));
  const { arrays, n } = samplerBuffers({
    ...base,
    kind: 'inBatch',
    targets: host,
    ignoreIndex: o.ignoreIndex,
  });
  const bufs = arrays.map((a) => DeviceBuffer.from(a, ctx));
  return { kind: SAMPLER_KIND.inBatch, n, bufs: [bufs[0], undefined, bufs[1]], temporary: bufs };
}

function resolve(options: CceOptions, N: number, C: number, D: number): ResolvedCceOptions {
  return resolveOptions({ ...options, impl: 'reference' }, { N, C, D }, 'cpu');
}

function common(o: ResolvedCceOptions, C: number) {
  const all = o.negatives === 'all';
  const K = all ? C : (o.negatives as number);
  const [k0, k1] = seedKey(o.seed);
  const mode = all ? MODE.all : MODE[o.share];
  return {
    all,
    K,
    k0,
    k1,
    mode,
    modeName: (all ? 'all' : o.share) as 'row' | 'block' | 'batch' | 'all',
    flags: (o.logQ ? 1 : 0) | (o.removeAccidentalHits ? 2 : 0),
    logK: Math.log(K),
  };
}

function run(
  backward: boolean,
  hidden: CudaTensor,
  items: CudaTensor,
  targets: CudaTensor,
  options: CceOptions,
  call: CudaCallOptions,
  outputs: {
    loss?: DeviceBuffer;
    lse?: DeviceBuffer;
    dLoss?: DeviceBuffer;
    dH?: DeviceBuffer;
    dW?: DeviceBuffer;
  },
): string {
  const { N, C, D } = check(hidden, items, targets);
  const o = resolve(options, N, C, D);
  const ctx = hidden.buffer.context;
  const c = common(o, C);
  const plan = planKernel({
    dtype: hidden.dtype,
    N,
    D,
    mode: c.modeName,
    blockRows: o.blockRows,
    backward,
    device: ctx.device,
    kernel: call.kernel ?? 'auto',
    f32Precision: call.f32Precision ?? 'tf32x3',
    aligned16: hidden.buffer.address % 16n === 0n && items.buffer.address % 16n === 0n,
  });
  if (N === 0) return plan.name;
  const s = samplerOnDevice(o, C, targets, ctx, call);
  try {
    const passes =
      backward && plan.kind === 'row'
        ? Math.max(
            1,
            Math.min(C, call.rowPasses ?? Math.min(16, Math.ceil((C * D * 4) / (0.6 * ctx.device.l2Bytes)))),
          )
        : 1;
    for (let p = 0; p < passes; p++) {
      const lo = Math.floor((p * C) / passes);
      const hi = Math.floor(((p + 1) * C) / passes);
      const bytes = packCceArgs({
        H: hidden.buffer,
        W: items.buffer,
        Y: targets.buffer,
        sa: s.bufs[0],
        sb: s.bufs[1],
        slq: s.bufs[2],
        ...outputs,
        N,
        C,
        D,
        K: c.K,
        mode: c.mode,
        blockRows: o.blockRows,
        k0: c.k0,
        k1: c.k1,
        stream: o.step,
        skind: s.kind,
        sn: s.n,
        flags: c.flags,
        ignoreIndex: o.ignoreIndex,
        logK: c.logK,
        tilesPerGroup: plan.kind === 'row' ? lo : plan.tilesPerGroup,
        itemHi: plan.kind === 'row' ? hi : 0,
        ...(call.streamPtr !== undefined ? { streamPtr: call.streamPtr } : {}),
      });
      const kernel = cceModule(ctx).kernel(plan.name);
      launch(
        kernel,
        { grid: plan.grid, block: plan.block, sharedBytes: plan.sharedBytes, stream: call.stream ?? null },
        [{ bytes }],
      );
    }
  } finally {
    // in-batch candidates are per call; free them once the kernel has run
    if (s.temporary.length) {
      (call.stream ?? null)?.synchronize();
      ctx.synchronize();
      for (const b of s.temporary) b.free();
    }
  }
  return plan.name;
}

/**
 * Forward pass of the loss on CUDA tensors: per-row loss and log-sum-exp as float32 device
 * buffers [N] (`out` may supply them). Queued on `call.stream`; nothing is copied to the host.
 */
export function cudaCceForward(
  hidden: CudaTensor,
  items: CudaTensor,
  targets: CudaTensor,
  options: CceOptions = {},
  call: CudaCallOptions = {},
  out: { loss?: DeviceBuffer; lse?: DeviceBuffer } = {},
): CudaCceForward {
  const N = hidden.shape[0] ?? 0;
  const ctx = hidden.buffer.context;
  const loss = out.loss ?? new DeviceBuffer(N * 4, ctx);
  const lse = out.lse ?? new DeviceBuffer(N * 4, ctx);
  const kernel = run(false, hidden, items, targets, options, call, { loss, lse });
  return { loss, lse, kernel };
}

/**
 * Backward pass on CUDA tensors: dHidden [N, D] and dItems [C, D] (float32) of Σ dLoss_i·loss_i,
 * from the forward's `lse` and the upstream per-row `dLoss` (float32 [N], 0 for ignored rows).
 * dItems is zeroed (unless `call.accumulateItems`), then accumulated with atomics.
 */
export function cudaCceBackward(
  hidden: CudaTensor,
  items: CudaTensor,
  targets: CudaTensor,
  lse: DeviceBuffer,
  dLoss: DeviceBuffer,
  options: CceOptions = {},
  call: CudaCallOptions = {},
  out: { dHidden?: DeviceBuffer; dItems?: DeviceBuffer } = {},
): CudaCceBackward {
  const [N = 0, D = 0] = hidden.shape;
  const C = items.shape[0] ?? 0;
  const ctx = hidden.buffer.context;
  if (lse.bytes < N * 4) throw new RangeError(`lse holds ${lse.bytes} bytes; N = ${N} needs ${N * 4}`);
  if (dLoss.bytes < N * 4) throw new RangeError(`dLoss holds ${dLoss.bytes} bytes; N = ${N} needs ${N * 4}`);
  const dHidden = out.dHidden ?? new DeviceBuffer(N * D * 4, ctx);
  const dItems = out.dItems ?? new DeviceBuffer(C * D * 4, ctx);
  if (!call.accumulateItems) dItems.fill32(0, 0, C * D, call.stream ?? null);
  const kernel = run(true, hidden, items, targets, options, call, { lse, dLoss, dH: dHidden, dW: dItems });
  return { dHidden, dItems, kernel };
}
