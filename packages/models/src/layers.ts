/** SASRec's building blocks as pure functions of tfjs tensors: layer norm, dense, attention, feed-forward, dropout. */

import { type DropoutDraw, dropoutMaskHost } from '@cutrec/kernels';
import * as tf from '@tensorflow/tfjs';
import { tfjsDevice } from './device.js';
import { DropoutMaskProgram } from './dropout/dropout-mask-program.js';

/**
 * Layer norm over the last axis: (x − mean) / √(var + eps) · gamma + beta. On the CPU backend a
 * fused host kernel (forward and backward in plain loops; tfjs's CPU broadcasting is slow); on
 * other backends tfjs ops.
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  if (tf.getBackend() === 'cpu') return layerNormHost(x, gamma, beta, eps);
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  });
}

function layerNormHost(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const D = x.shape[x.shape.length - 1]!;
  const f = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const xs = xt.dataSync() as Float32Array;
    const gs = g.dataSync() as Float32Array;
    const bs = b.dataSync() as Float32Array;
    const rows = xs.length / D;
    const y = new Float32Array(xs.length);
    const xhat = new Float32Array(xs.length);
    const rstd = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const o = r * D;
      let mean = 0;
      for (let d = 0; d < D; d++) mean += xs[o + d]!;
      mean /= D;
      let v = 0;
      for (let d = 0; d < D; d++) {
        const c = xs[o + d]! - mean;
        v += c * c;
      }
      const rs = 1 / Math.sqrt(v / D + eps);
      rstd[r] = rs;
      for (let d = 0; d < D; d++) {
        const h = (xs[o + d]! - mean) * rs;
        xhat[o + d] = h;
        y[o + d] = h * gs[d]! + bs[d]!;
      }
    }
    const xhatT = tf.tensor(xhat, xt.shape);
    const rstdT = tf.tensor1d(rstd);
    save([xhatT, rstdT, g]);
    return {
      value: tf.tensor(y, xt.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dys = dy.dataSync() as Float32Array;
        const xh = saved[0]!.dataSync() as Float32Array;
        const rsd = saved[1]!.dataSync() as Float32Array;
        const gv = saved[2]!.dataSync() as Float32Array;
        const dx = new Float32Array(dys.length);
        const dg = new Float32Array(D);
        const db = new Float32Array(D);
        for (let r = 0; r < rows; r++) {
          const o = r * D;
          // dxhat = dy·gamma; dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat·xhat))
          let m1 = 0;
          let m2 = 0;
          for (let d = 0; d < D; d++) {
            const dh = dys[o + d]! * gv[d]!;
            m1 += dh;
            m2 += dh * xh[o + d]!;
            dg[d] = dg[d]! + dys[o + d]! * xh[o + d]!;
            db[d] = db[d]! + dys[o + d]!;
          }
          m1 /= D;
          m2 /= D;
          const rs = rsd[r]!;
          for (let d = 0; d < D; d++) dx[o + d] = rs * (dys[o + d]! * gv[d]! - m1 - xh[o + d]! * m2);
        }
        return [tf.tensor(dx, dy.shape), tf.tensor1d(dg), tf.tensor1d(db)];
      },
    };
  };
  const op = tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    x: tf.Tensor,
    g: tf.Tensor,
    b: tf.Tensor,
  ) => tf.Tensor;
  return op(x, gamma, beta);
}

/** x [..., Din] · w [Din, Dout] + b [Dout]. */
export function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const shape = x.shape;
    const din = shape[shape.length - 1]!;
    const y = tf.add(tf.matMul(tf.reshape(x, [-1, din]) as tf.Tensor2D, w as tf.Tensor2D), b);
    return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]!]);
  });
}

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/**
 * Inverted dropout of x for a draw (seed, stream, site); identity when `rate` is 0 or `draw` is
 * undefined (not training). The mask is @cutrec/kernels' Philox mask (the engine contract: the
 * same bits on every engine): on WebGPU from a kernel on the device, elsewhere from the host.
 */
export function dropout(x: tf.Tensor, rate: number, draw: DropoutDraw | undefined): tf.Tensor {
  if (rate === 0 || draw === undefined) return x;
  const device = tf.getBackend() === 'webgpu' ? tfjsDevice() : undefined;
  if (device) {
    return tf.tidy(() => tf.mul(x, DropoutMaskProgram.get(device).run(x.shape, rate, draw)));
  }
  return tf.tidy(() => tf.mul(x, tf.tensor(dropoutMaskHost(x.size, rate, draw), x.shape)));
}

/** Weights of one multi-head attention layer. */
export interface AttentionWeights {
  wq: tf.Tensor;
  bq: tf.Tensor;
  wk: tf.Tensor;
  bk: tf.Tensor;
  wv: tf.Tensor;
  bv: tf.Tensor;
  wo: tf.Tensor;
  bo: tf.Tensor;
}

/**
 * Multi-head self-attention of x [B, L, D] with an additive mask bias [B, H, L, L] (0 where a query
 * may attend a key, a large negative number elsewhere); returns [B, L, D].
 */
export function multiHeadAttention(
  x: tf.Tensor,
  w: AttentionWeights,
  maskBias: tf.Tensor,
  numHeads: number,
  attnDropout: number,
  draw: DropoutDraw | undefined,
): tf.Tensor {
  return tf.tidy(() => {
    const [B, L, D] = x.shape as [number, number, number];
    const dh = D / numHeads;
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, L, numHeads, dh]), [0, 2, 1, 3]);
    const q = heads(dense(x, w.wq, w.bq));
    const k = heads(dense(x, w.wk, w.bk));
    const v = heads(dense(x, w.wv, w.bv));
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), maskBias);
    const probs = dropout(tf.softmax(scores, -1), attnDropout, draw);
    const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B, L, D]);
    return dense(ctx, w.wo, w.bo);
  });
}

/** Weights of the point-wise feed-forward. */
export interface FeedForwardWeights {
  w1: tf.Tensor;
  b1: tf.Tensor;
  w2: tf.Tensor;
  b2: tf.Tensor;
}

/** Point-wise feed-forward: dense → activation → dropout → dense, on x [..., D]. */
export function feedForward(
  x: tf.Tensor,
  w: FeedForwardWeights,
  activation: 'relu' | 'gelu',
  rate: number,
  draw: DropoutDraw | undefined,
): tf.Tensor {
  return tf.tidy(() => {
    const h = dense(x, w.w1, w.b1);
    const a = activation === 'relu' ? tf.relu(h) : gelu(h);
    return dense(dropout(a, rate, draw), w.w2, w.b2);
  });
}

/**
 * Rows `ids` (int32, any shape) of `table` [R, D] → [...ids.shape, D], whose gradient is a scatter-add
 * (tf.scatterND, O(|ids|·D)) rather than tfjs's default unsortedSegmentSum, which costs O(R·|ids|·D)
 * on the CPU backend.
 */
export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const [R, D] = table.shape as [number, number];
  const f = (t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids]); // keeps ids alive until the backward pass
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.scatterND(tf.reshape(saved[0]!, [-1, 1]), tf.reshape(dy, [-1, D]), [R, D]),
    };
  };
  const op = tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    t: tf.Tensor,
  ) => tf.Tensor;
  return op(table);
}
