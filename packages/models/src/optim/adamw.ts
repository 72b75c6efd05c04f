/**
 * Adam with decoupled weight decay (AdamW, Loshchilov & Hutter) and a learning-rate schedule,
 * written out so that its whole state (m, v, step) can be checkpointed and restored exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { checkSchedule, type LrSchedule, learningRate } from './schedule.js';

/** Optimizer settings; every field has a default. */
export interface AdamWConfig {
  /** Peak learning rate. Default 1e-3. */
  lr?: number;
  /** (β1, β2). Default [0.9, 0.98]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay λ: p ← p − lr_t·λ·p, on parameters of rank ≥ 2 only. Default 0. */
  weightDecay?: number;
  /** Default { kind: 'constant' }. */
  schedule?: LrSchedule;
  /** Clip the global gradient norm to this value (0: no clipping). Default 0. */
  clipNorm?: number;
}

export type ResolvedAdamWConfig = Required<AdamWConfig>;

/** Fills in defaults and checks every field. */
export function resolveAdamW(c: AdamWConfig = {}): ResolvedAdamWConfig {
  const r: ResolvedAdamWConfig = {
    lr: c.lr ?? 1e-3,
    betas: c.betas ?? [0.9, 0.98],
    eps: c.eps ?? 1e-8,
    weightDecay: c.weightDecay ?? 0,
    schedule: c.schedule ?? { kind: 'constant' },
    clipNorm: c.clipNorm ?? 0,
  };
  if (!(r.lr > 0 && Number.isFinite(r.lr)))
    throw new RangeError(`optimizer.lr must be a finite number > 0, got ${r.lr}`);
  for (const [i, b] of r.betas.entries()) {
    if (!(b >= 0 && b < 1)) throw new RangeError(`optimizer.betas[${i}] must be in [0, 1), got ${b}`);
  }
  if (!(r.eps > 0)) throw new RangeError(`optimizer.eps must be > 0, got ${r.eps}`);
  if (!(r.weightDecay >= 0)) throw new RangeError(`optimizer.weightDecay must be ≥ 0, got ${r.weightDecay}`);
  if (!(r.clipNorm >= 0)) throw new RangeError(`optimizer.clipNorm must be ≥ 0, got ${r.clipNorm}`);
  checkSchedule(r.schedule);
  return r;
}

/** One parameter the optimizer updates, with its moment estimates. */
interface Slot {
  name: string;
  variable: tf.Variable;
  m: tf.Variable;
  v: tf.Variable;
  decay: boolean;
}

/** AdamW over a fixed list of named variables; `step` counts applied updates. */
export class AdamW {
  readonly config: ResolvedAdamWConfig;
  private readonly slots: Slot[];
  /** Updates applied so far (the next update uses bias corrections for step + 1). */
  step = 0;

  constructor(params: readonly { name: string; variable: tf.Variable }[], config: AdamWConfig = {}) {
    this.config = resolveAdamW(config);
    this.slots = params.map(({ name, variable }) => ({
      name,
      variable,
      m: tf.variable(tf.zerosLike(variable), false),
      v: tf.variable(tf.zerosLike(variable), false),
      decay: variable.rank >= 2,
    }));
  }

  /** The learning rate the next update uses. */
  currentLr(): number {
    return learningRate(this.config.lr, this.config.schedule, this.step);
  }

  /**
   * Applies one update from `grads` (by parameter name; a parameter without a gradient is left as
   * it is). Clipping by the global norm happens on the device (no read-back).
   */
  apply(grads: Record<string, tf.Tensor>): void {
    const { betas, eps, weightDecay, clipNorm } = this.config;
    const [b1, b2] = betas;
    const t = this.step + 1;
    const lr = this.currentLr();
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    tf.tidy(() => {
      let scale: tf.Tensor | undefined;
      if (clipNorm > 0) {
        const sq = this.slots.filter((s) => grads[s.name]).map((s) => tf.sum(tf.square(grads[s.name]!)));
        if (sq.length > 0) scale = tf.minimum(1, tf.div(clipNorm, tf.add(tf.sqrt(tf.addN(sq)), 1e-12)));
      }
      for (const s of this.slots) {
        const g0 = grads[s.name];
        if (!g0) continue;
        const g = scale ? tf.mul(g0, scale) : g0;
        const m = tf.add(tf.mul(s.m, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(s.v, b2), tf.mul(tf.square(g), 1 - b2));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        let p: tf.Tensor = tf.sub(s.variable, tf.mul(update, lr));
        if (s.decay && weightDecay > 0) p = tf.sub(p, tf.mul(s.variable, lr * weightDecay));
        s.m.assign(m);
        s.v.assign(v);
        s.variable.assign(p);
      }
    });
    this.step = t;
  }

  /** The moment estimates by parameter name (live variables; read, don't dispose). */
  state(): { name: string; m: tf.Variable; v: tf.Variable }[] {
    return this.slots.map(({ name, m, v }) => ({ name, m, v }));
  }

  /** Restores moments and step (e.g. from a checkpoint); shapes must match. */
  setState(step: number, moments: Record<string, { m: tf.Tensor; v: tf.Tensor }>): void {
    if (!Number.isInteger(step) || step < 0)
      throw new RangeError(`AdamW.setState: step must be an integer ≥ 0, got ${step}`);
    for (const s of this.slots) {
      const mv = moments[s.name];
      if (!mv) throw new Error(`AdamW.setState: no moments for parameter '${s.name}'`);
      for (const [which, t, dst] of [
        ['m', mv.m, s.m],
        ['v', mv.v, s.v],
      ] as const) {
        if (!tf.util.arraysEqual(t.shape, dst.shape)) {
          throw new RangeError(
            `AdamW.setState: ${which} of '${s.name}' has shape [${t.shape}], expected [${dst.shape}]`,
          );
        }
        dst.assign(t);
      }
    }
    this.step = step;
  }

  /** Frees the moment variables (not the parameters). */
  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}
