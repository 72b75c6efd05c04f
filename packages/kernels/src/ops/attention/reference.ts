/**
 * Causal multi-head attention with key padding and dropout on the probabilities (float64 oracle),
 * what @cutrec/models' tfjs SASRec computes (layers.ts `multiHeadAttention` with sasrec.ts's mask):
 *
 *     allowed(i, j) = (j ≤ i and ids[b·L + j] ≠ padId) or j = i
 *     s_ij   = scale · q_i · k_j                   over allowed j (others contribute exactly 0)
 *     lse_i  = log Σ_j exp(s_ij)
 *     p_ij   = exp(s_ij − lse_i)
 *     out_i  = Σ_j p_ij · mul(e_ij) · v_j,         e_ij = ((b·H + h)·L + i)·L + j
 *
 * (e_ij is the flat index of tfjs's [B, H, L, L] probs tensor, so the mask is the tfjs dropout's.)
 * Layout: R = B·L rows; q, k, v are [R, stride] row-major (stride ≥ H·dh), head h of row r is
 * elements r·stride + h·dh … + dh − 1; out and dOut are [R, H·dh]; lse and delta [B·H·L]
 * (index (b·H + h)·L + i). The backward writes the exact gradients:
 *
 *     dP_ij  = mul(e_ij) · dO_i · v_j,   delta_i = Σ_j p_ij · dP_ij = dO_i · out_i
 *     dS_ij  = p_ij · (dP_ij − delta_i)
 *     dq_i   = scale · Σ_j dS_ij k_j,  dk_j = scale · Σ_i dS_ij q_i,  dv_j = Σ_i p_ij · mul(e_ij) · dO_i
 *
 * dq, dk, dv have q's layout; only the heads' elements (h·dh … H·dh − 1 of each row) are written,
 * the rest of a row (stride > H·dh: another tensor's columns) is left as it is.
 */
import { type DropoutSpec, dropoutMultiplier } from '../dropout/index.js';

type Out = { [i: number]: number; length: number };

/** Shapes shared by the forward and the backward. */
export interface AttentionShape {
  /** [B·L] int32 ids; key j of sequence b is padding when ids[b·L + j] = padId. */
  ids: ArrayLike<number>;
  B: number;
  L: number;
  H: number;
  dh: number;
  /** Row stride of q, k, v, dq, dk, dv in elements (default H·dh). */
  stride?: number;
  padId: number;
  /** Score scale (1/√dh for SASRec). */
  scale: number;
  /** Dropout on the probabilities (undefined or rate 0: none). */
  dropout?: DropoutSpec;
}

/** Arguments of {@link attentionForward}. */
export interface AttentionForwardArgs extends AttentionShape {
  /** [R, stride] each. */
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** [R, H·dh] out. */
  out: Out;
  /** [B·H·L] out: log Σ_j exp(s_ij). */
  lse: Out;
}

/** Arguments of {@link attentionBackward}. */
export interface AttentionBackwardArgs extends AttentionShape {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** [R, H·dh] the forward's output. */
  out: ArrayLike<number>;
  /** [R, H·dh] gradient of out. */
  dOut: ArrayLike<number>;
  /** [B·H·L] the forward's lse. */
  lse: ArrayLike<number>;
  /** [R, stride] out (the heads' elements). */
  dq: Out;
  dk: Out;
  dv: Out;
  /** [B·H·L] out, optional: delta_i = dO_i · out_i (the CUDA backward's workspace). */
  delta?: Out;
}

function checkShape(name: string, a: AttentionShape): number {
  const { B, L, H, dh } = a;
  const stride = a.stride ?? H * dh;
  const ok = [B, L, H, dh, stride].every((x) => Number.isInteger(x) && x >= 0);
  if (!ok || H < 1 || dh < 1 || stride < H * dh) {
    throw new RangeError(
      `${name}: need integers B, L ≥ 0, H, dh ≥ 1, stride ≥ H·dh (got ${B}, ${L}, ${H}, ${dh}, ${stride})`,
    );
  }
  return stride;
}

/** Whether query i of sequence b may attend key j. */
function allowedFn(ids: ArrayLike<number>, L: number, padId: number) {
  return (b: number, i: number, j: number) => j === i || (j < i && ids[b * L + j] !== padId);
}

/** out and lse of the attention (see the module comment). */
export function attentionForward(a: AttentionForwardArgs): void {
  const { q, k, v, out, lse, ids, B, L, H, dh, padId, scale } = a;
  const stride = checkShape('attentionForward', a);
  const D = H * dh;
  const mul = dropoutMultiplier(a.dropout);
  const allowed = allowedFn(ids, L, padId);
  const s = new Float64Array(L);
  const acc = new Float64Array(dh);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const qo = (b * L + i) * stride + h * dh;
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j <= i; j++) {
          if (!allowed(b, i, j)) continue;
          const ko = (b * L + j) * stride + h * dh;
          let dot = 0;
          for (let d = 0; d < dh; d++) dot += q[qo + d]! * k[ko + d]!;
          s[j] = scale * dot;
          if (s[j]! > m) m = s[j]!;
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) if (allowed(b, i, j)) sum += Math.exp(s[j]! - m);
        const l = m + Math.log(sum);
        const row = (b * H + h) * L + i;
        lse[row] = l;
        acc.fill(0);
        for (let j = 0; j <= i; j++) {
          if (!allowed(b, i, j)) continue;
          const pm = Math.exp(s[j]! - l) * mul(row * L + j);
          if (pm === 0) continue;
          const vo = (b * L + j) * stride + h * dh;
          for (let d = 0; d < dh; d++) acc[d]! += pm * v[vo + d]!;
        }
        const oo = (b * L + i) * D + h * dh;
        for (let d = 0; d < dh; d++) out[oo + d] = acc[d]!;
      }
    }
  }
}

/** dq, dk, dv (and delta if given) of the attention (see the module comment). */
export function attentionBackward(a: AttentionBackwardArgs): void {
  const { q, k, v, out, dOut, lse, dq, dk, dv, delta, ids, B, L, H, dh, padId, scale } = a;
  const stride = checkShape('attentionBackward', a);
  const D = H * dh;
  const mul = dropoutMultiplier(a.dropout);
  const allowed = allowedFn(ids, L, padId);
  for (let r = 0; r < B * L; r++) {
    for (let x = 0; x < D; x++) {
      dq[r * stride + x] = 0;
      dk[r * stride + x] = 0;
      dv[r * stride + x] = 0;
    }
  }
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const row = (b * H + h) * L + i;
        const qo = (b * L + i) * stride + h * dh;
        const oo = (b * L + i) * D + h * dh;
        let di = 0;
        for (let d = 0; d < dh; d++) di += dOut[oo + d]! * out[oo + d]!;
        if (delta) delta[row] = di;
        for (let j = 0; j <= i; j++) {
          if (!allowed(b, i, j)) continue;
          const ko = (b * L + j) * stride + h * dh;
          let qk = 0;
          let dov = 0;
          for (let d = 0; d < dh; d++) {
            qk += q[qo + d]! * k[ko + d]!;
            dov += dOut[oo + d]! * v[ko + d]!;
          }
          const p = Math.exp(scale * qk - lse[row]!);
          const m = mul(row * L + j);
          const dS = p * (m * dov - di);
          const pm = p * m;
          for (let d = 0; d < dh; d++) {
            dq[qo + d] = dq[qo + d]! + scale * dS * k[ko + d]!;
            dk[ko + d] = dk[ko + d]! + scale * dS * q[qo + d]!;
            dv[ko + d] = dv[ko + d]! + pm * dOut[oo + d]!;
          }
        }
      }
    }
  }
}
