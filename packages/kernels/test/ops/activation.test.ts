/** Activation reference: tfjs's formulas and gradients, finite differences, dropout bits, awkward sizes. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  activationBackward,
  activationDerivative,
  activationForward,
  activationValue,
} from '../../src/ops/activation/index.js';
import { dropoutMaskHost } from '../../src/ops/dropout/index.js';
import { testRng } from './rng.js';

/** models/src/layers.ts's gelu, written out in tfjs ops. */
function tfGelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

describe('activation (reference)', () => {
  it('known values', () => {
    expect(activationValue('relu', -2)).toBe(0);
    expect(activationValue('relu', 0)).toBe(0);
    expect(activationValue('relu', 1.5)).toBe(1.5);
    expect(activationDerivative('relu', 0)).toBe(0);
    expect(activationDerivative('relu', 1e-9)).toBe(1);
    expect(activationValue('gelu', 0)).toBe(0);
    expect(activationDerivative('gelu', 0)).toBe(0.5);
    // 0.5·(1 + tanh(√(2/π)·1.044715))
    expect(activationValue('gelu', 1)).toBeCloseTo(0.8411919906082768, 14);
    expect(activationValue('gelu', -30)).toBeCloseTo(0, 14);
    expect(activationDerivative('gelu', 30)).toBeCloseTo(1, 14);
  });

  it("GELU and its derivative agree with tfjs's gelu and tf.grad (float32)", async () => {
    await tf.setBackend('cpu');
    const rng = testRng('activation vs tfjs');
    const n = 257;
    const pre = rng.floats(n, 3);
    const x = tf.tensor1d(pre);
    const want = tfGelu(x).dataSync();
    const wantGrad = tf
      .grad((t: tf.Tensor) => tfGelu(t))(x)
      .dataSync();
    x.dispose();
    const out = new Float64Array(n);
    const dPre = new Float64Array(n);
    activationForward({ pre, out, n, kind: 'gelu' });
    activationBackward({ pre, dOut: new Float64Array(n).fill(1), dPre, n, kind: 'gelu' });
    for (let i = 0; i < n; i++) {
      expect(Math.abs(out[i]! - want[i]!)).toBeLessThan(2e-6 * Math.max(1, Math.abs(want[i]!)));
      expect(Math.abs(dPre[i]! - wantGrad[i]!)).toBeLessThan(2e-5);
    }
  });

  it('the backward matches float64 central differences of Σ dOut·out (awkward n, dropout)', () => {
    const rng = testRng('activation finite differences');
    for (const kind of ['relu', 'gelu'] as const) {
      for (const n of [1, 3, 37, 50, 63, 256]) {
        for (const rate of [0, 0.4]) {
          const pre = Float64Array.from(rng.floats(n, 2));
          // ReLU is not differentiable at 0: keep the points away from it.
          if (kind === 'relu') for (let i = 0; i < n; i++) if (Math.abs(pre[i]!) < 1e-2) pre[i] = 0.5;
          const dOut = Float64Array.from(rng.floats(n));
          const dropout = rate > 0 ? { seed: rng.int(0, 1e6), stream: 2, site: 9, rate } : undefined;
          const dPre = new Float64Array(n).fill(Number.NaN);
          activationBackward({ pre, dOut, dPre, n, kind, dropout });
          const out = new Float64Array(n);
          const loss = () => {
            activationForward({ pre, out, n, kind, dropout });
            let s = 0;
            for (let i = 0; i < n; i++) s += dOut[i]! * out[i]!;
            return s;
          };
          const h = 1e-5;
          let m = 1e-3;
          for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(dPre[i]!));
          for (let i = 0; i < n; i++) {
            const v = pre[i]!;
            pre[i] = v + h;
            const up = loss();
            pre[i] = v - h;
            const down = loss();
            pre[i] = v;
            expect(Math.abs((up - down) / (2 * h) - dPre[i]!) / m).toBeLessThan(1e-6);
          }
        }
      }
    }
  });

  it('rate 0 is the identity and the dropout multipliers are dropoutMaskHost bit for bit', () => {
    const rng = testRng('activation dropout');
    const n = 50;
    const pre = rng.floats(n);
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    activationForward({ pre, out: a, n, kind: 'gelu' });
    activationForward({ pre, out: b, n, kind: 'gelu', dropout: { seed: 1, stream: 1, site: 1, rate: 0 } });
    expect([...b]).toEqual([...a]);
    const draw = { seed: rng.int(0, 2 ** 30), stream: 5, site: 3 };
    const out = new Float64Array(n);
    activationForward({
      pre: new Float64Array(n).fill(1),
      out,
      n,
      kind: 'relu',
      dropout: { ...draw, rate: 0.5 },
    });
    expect([...out]).toEqual([...dropoutMaskHost(n, 0.5, draw)]);
    const dPre = new Float64Array(n);
    const ones = new Float64Array(n).fill(1);
    activationBackward({ pre: ones, dOut: ones, dPre, n, kind: 'relu', dropout: { ...draw, rate: 0.5 } });
    expect([...dPre]).toEqual([...dropoutMaskHost(n, 0.5, draw)]);
  });
});
