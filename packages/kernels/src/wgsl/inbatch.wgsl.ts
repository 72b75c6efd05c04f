/**
 * WGSL that builds the in-batch sampler's tables on the GPU from the targets (tfjs cannot read
 * them back synchronously): one workgroup compacts the valid targets in row order into
 * `cand` (a workgroup prefix sum per 256 rows), counts each item in `hist` (atomic), and stores
 * their number in `count[0]`; then `log_q[p] = log(hist[cand[p]] / count)` per position.
 */
import { bindingsWGSL, paramsWGSL } from './program.js';

export const INBATCH_WG = 256;

/** The compaction kernel (dispatch one workgroup) or the logQ kernel (one thread per row). */
export function inBatchWGSL(stage: 'compact' | 'logq'): string {
  const decls = bindingsWGSL([
    ['targets', 'read', 'i32'],
    ['cand', 'rw', 'u32'],
    ['log_q', 'rw', 'f32'],
    ['hist', 'rw', 'atomic<u32>'],
    ['count', 'rw', 'u32'],
  ]);
  if (stage === 'compact') {
    return `${paramsWGSL()}
${decls}
var<workgroup> scan: array<u32, ${INBATCH_WG}>;

@compute @workgroup_size(${INBATCH_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var off = 0u;
  for (var base = 0u; base < P.n_rows; base = base + ${INBATCH_WG}u) {
    let r = base + lid;
    var t = P.ignore_index;
    if (r < P.n_rows) {
      t = targets[r];
    }
    let valid = t != P.ignore_index;
    scan[lid] = select(0u, 1u, valid);
    workgroupBarrier();
    for (var s = 1u; s < ${INBATCH_WG}u; s = s << 1u) {
      var v = scan[lid];
      if (lid >= s) {
        v = v + scan[lid - s];
      }
      workgroupBarrier();
      scan[lid] = v;
      workgroupBarrier();
    }
    if (valid) {
      cand[off + scan[lid] - 1u] = u32(t);
      atomicAdd(&hist[u32(t)], 1u);
    }
    off = off + scan[${INBATCH_WG - 1}u];
    workgroupBarrier();
  }
  if (lid == 0u) {
    count[0] = off;
  }
}
`;
  }
  return `${paramsWGSL()}
${decls}
@compute @workgroup_size(${INBATCH_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = (wid.x + wid.y * P.wg_x) * ${INBATCH_WG}u + lid;
  let n = count[0];
  if (p < n) {
    log_q[p] = log(f32(atomicLoad(&hist[cand[p]])) / f32(n));
  }
}
`;
}
