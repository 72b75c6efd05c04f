/**
 * The WGSL sampler kernels include: storage bindings for the sampler's tables, Philox, and
 * `cutrec_draw(key, grp, j, stream, n)` returning the item and the natural log of q(item), the
 * same items as `negatives()` bit for bit.
 */
import { philoxWGSL } from './philox.wgsl.js';
import type { SamplerKind } from './types.js';

/** Where the sampler's storage buffers go in the including shader. */
export interface SamplerWGSLOptions {
  /** Bind group of the sampler's buffers. */
  group: number;
  /** First binding; the sampler uses `bindings` consecutive ones from here. */
  binding: number;
}

/** The WGSL source of a sampler and how many bindings it declares. */
export interface SamplerWGSL {
  code: string;
  bindings: number;
}

const SHARED = /* wgsl */ `
struct CutrecDraw {
  item: u32,
  log_q: f32,
}

// The group of a row: share_mode 0 'row' (the row), 1 'block' (row / block_rows), 2 'batch' (0).
fn cutrec_group(row: u32, share_mode: u32, block_rows: u32) -> u32 {
  if (share_mode == 0u) {
    return row;
  }
  if (share_mode == 1u) {
    return row / block_rows;
  }
  return 0u;
}

fn cutrec_words(key: vec2<u32>, grp: u32, j: u32, stream: u32) -> vec4<u32> {
  return philox4x32_10(vec4<u32>(grp, j, stream, 0u), key);
}
`;

function bindingsOf(kind: SamplerKind, group: number, binding: number): string {
  const at = (i: number) => `@group(${group}) @binding(${binding + i})`;
  if (kind === 'popularity') {
    return [
      `${at(0)} var<storage, read> cutrec_alias_prob: array<u32>;`,
      `${at(1)} var<storage, read> cutrec_alias_idx: array<u32>;`,
      `${at(2)} var<storage, read> cutrec_log_q: array<f32>;`,
    ].join('\n');
  }
  if (kind === 'inBatch') {
    return [
      `${at(0)} var<storage, read> cutrec_batch_items: array<u32>;`,
      `${at(1)} var<storage, read> cutrec_batch_log_q: array<f32>;`,
    ].join('\n');
  }
  return '';
}

const DRAW: Record<SamplerKind, string> = {
  // n = numItems; q = 1/n.
  uniform: /* wgsl */ `
fn cutrec_draw(key: vec2<u32>, grp: u32, j: u32, stream: u32, n: u32) -> CutrecDraw {
  let w = cutrec_words(key, grp, j, stream);
  return CutrecDraw(cutrec_mulhi32(w.x, n), -log(f32(n)));
}
`,
  // n = numItems; column from w0, then the column when w1 < prob[col], else its alias.
  popularity: /* wgsl */ `
fn cutrec_draw(key: vec2<u32>, grp: u32, j: u32, stream: u32, n: u32) -> CutrecDraw {
  let w = cutrec_words(key, grp, j, stream);
  let col = cutrec_mulhi32(w.x, n);
  var item = col;
  if (w.y >= cutrec_alias_prob[col]) {
    item = cutrec_alias_idx[col];
  }
  return CutrecDraw(item, cutrec_log_q[item]);
}
`,
  // n = numValid; position from w0 into the batch's valid targets. n = 0: item 0xffffffff.
  inBatch: /* wgsl */ `
fn cutrec_draw(key: vec2<u32>, grp: u32, j: u32, stream: u32, n: u32) -> CutrecDraw {
  if (n == 0u) {
    return CutrecDraw(0xffffffffu, 0.0);
  }
  let w = cutrec_words(key, grp, j, stream);
  let p = cutrec_mulhi32(w.x, n);
  return CutrecDraw(cutrec_batch_items[p], cutrec_batch_log_q[p]);
}
`,
};

/** Number of storage buffers each sampler kind binds. */
export const SAMPLER_BINDINGS: Record<SamplerKind, number> = { uniform: 0, popularity: 3, inBatch: 2 };

/**
 * WGSL for a sampler kind, its buffers bound at @group(opts.group) from @binding(opts.binding):
 * returns `{ code, bindings }` where code defines `CutrecDraw`, `cutrec_draw`, `cutrec_group`,
 * `cutrec_words` and Philox (`philox4x32_10`, `cutrec_mulhi32`).
 */
export function samplerWGSL(kind: SamplerKind, opts: SamplerWGSLOptions): SamplerWGSL {
  if (!(kind in DRAW)) {
    throw new RangeError(`kind must be 'uniform', 'popularity' or 'inBatch', got ${JSON.stringify(kind)}`);
  }
  for (const f of ['group', 'binding'] as const) {
    if (!Number.isInteger(opts[f]) || opts[f] < 0) {
      throw new RangeError(`opts.${f} must be an integer ≥ 0, got ${opts[f]}`);
    }
  }
  const code = [
    `// @cutrec/sampler: ${kind} sampler`,
    bindingsOf(kind, opts.group, opts.binding),
    philoxWGSL,
    SHARED,
    DRAW[kind],
  ].join('\n');
  return { code, bindings: SAMPLER_BINDINGS[kind] };
}

/** The WGSL `share_mode` of a share: 0 'row', 1 'block', 2 'batch'. */
export function shareMode(share: 'row' | 'block' | 'batch'): number {
  if (share === 'row') return 0;
  if (share === 'block') return 1;
  if (share === 'batch') return 2;
  throw new RangeError(`share must be 'row', 'block' or 'batch', got ${JSON.stringify(share)}`);
}
