/**
 * Measurement, not a check (skipped unless CUTREC_BF16_TABLE=1): how far one bf16-storage step
 * (HostDevice dtype 'bfloat16': float64 arithmetic, every stored activation rounded to bf16) is
 * from the float32 tfjs step and from the float64 host step, per parameter tensor, on the contract
 * test's cases and on larger models, at initialisation and after training on planted synthetic
 * data. Prints Markdown rows (BENCHMARKS.md, "bf16 against fp32: what the 2e-2 bound measures").
 *
 *   CUTREC_BF16_TABLE=1 npx vitest run test/bf16-error-table.test.ts
 *   CUTREC_BF16_TABLE=1 CUTREC_BF16_ONLY=big CUTREC_BF16_BIG=B32-D64-H2-T300-relu,... (one row each)
 *
 * A spec names B (sequences), L, D, H (heads), C (items), T (steps trained first, by the host's
 * float64 engine), LR (its learning rate, default 1e-3), S (seeds), Q (factor on the initial query and key weights), gelu|relu, ce|cce.
 */
import { syntheticDataset, trainingBatches } from '@cutrec/data';
import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import {
  type Batch,
  FusedTrainer,
  HostDevice,
  type LossSpec,
  SASRec,
  type SASRecConfig,
  Trainer,
} from '../src/index.js';
import { bf16StepErrors, cases, randomBatch, rel } from './fused-cases.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

type Named = Record<string, Float32Array>;

/** Tensor kind: the name without its block prefix. */
const kind = (name: string) => name.replace(/^blocks\.\d+\./, '');

/** Per tensor kind (worst over blocks): bf16 vs tfjs, bf16 vs f64, f64 vs tfjs, each over the tensor's own largest |entry|. */
type Row = { scale: number; bf16Tfjs: number; bf16F64: number; f64Tfjs: number };

function compare(tfjs: Named, f64: Named, bf16: Named): Map<string, Row> {
  let stepMax = 0;
  for (const g of Object.values(tfjs)) for (const v of g) stepMax = Math.max(stepMax, Math.abs(v));
  const rows = new Map<string, Row>();
  for (const [name, want] of Object.entries(tfjs)) {
    let m = 0;
    for (const v of want) m = Math.max(m, Math.abs(v));
    const r = {
      scale: m / stepMax,
      bf16Tfjs: rel(bf16[name]!, want),
      bf16F64: rel(bf16[name]!, f64[name]!),
      f64Tfjs: rel(f64[name]!, want),
    };
    const k = kind(name);
    const old = rows.get(k);
    if (!old || r.bf16Tfjs > old.bf16Tfjs) rows.set(k, { ...r, scale: Math.min(r.scale, old?.scale ?? 1) });
  }
  return rows;
}

interface Measured {
  loss: { tfjs: number; f64: number; bf16: number };
  rows: Map<string, Row>;
  /** The contract measure (fused-cases.ts bf16StepErrors) of the bf16 step against tfjs. */
  measure: ReturnType<typeof bf16StepErrors>;
}

/**
 * From one state (parameters, Adam moments, step), one step of each engine on `batch`: tfjs
 * (float32, CPU backend), the host's float64 engine and its bf16-storage engine.
 */
async function measureStep(
  config: SASRecConfig,
  options: { loss: LossSpec; optimizer: Record<string, number>; batchSize: number },
  state: { step: number; params: Named; m?: Named; v?: Named },
  batch: Batch,
): Promise<Measured> {
  const model = new SASRec(config);
  for (const p of model.parameters) p.variable.assign(tf.tensor(state.params[p.name]!, p.variable.shape));
  const tfjs = new Trainer(model, { loss: options.loss, optimizer: options.optimizer });
  if (state.m && state.v) {
    const moments = Object.fromEntries(
      model.parameters.map((p) => [
        p.name,
        {
          m: tf.tensor(state.m![p.name]!, p.variable.shape),
          v: tf.tensor(state.v![p.name]!, p.variable.shape),
        },
      ]),
    );
    tfjs.optimizer.setState(state.step, moments);
    for (const mv of Object.values(moments)) tf.dispose([mv.m, mv.v]);
  }
  const engines = (['float32', 'bfloat16'] as const).map((dtype) => {
    const t = new FusedTrainer(config, new HostDevice({ dtype }), options, state.params);
    t.loadState(state.step, state.params, state.m, state.v);
    return t;
  });
  try {
    const want = await tfjs.trainStepWithGradients(batch);
    const [f64, bf16] = engines.map((e) => e.trainStep(batch)) as [number, number];
    const g16 = engines[1]!.gradients();
    const wantParams = Object.fromEntries(
      model.parameters.map((p) => [p.name, p.variable.dataSync() as Float32Array]),
    );
    return {
      loss: { tfjs: want.loss, f64, bf16 },
      rows: compare(want.grads, engines[0]!.gradients(), g16),
      measure: bf16StepErrors(want.grads, g16, wantParams, engines[1]!.parameters()),
    };
  } finally {
    for (const e of engines) e.dispose();
    tfjs.dispose();
    model.dispose();
  }
}

function table(title: string, m: Measured): string {
  const lines = [
    `${title}: loss ${m.loss.tfjs.toFixed(4)}; |bf16 − tfjs| ${Math.abs(m.loss.bf16 - m.loss.tfjs).toExponential(1)}; contract measure: gradients ${m.measure.gradient.toFixed(4)} (${m.measure.gradientName}), updated ${m.measure.update.toFixed(4)} (${m.measure.updateName})`,
    '| tensor | max |g| / step max | bf16 vs tfjs | bf16 vs f64 | f64 vs tfjs |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const [k, r] of [...m.rows].sort((a, b) => b[1].bf16Tfjs - a[1].bf16Tfjs))
    lines.push(
      `| ${k} | ${r.scale.toExponential(1)} | ${r.bf16Tfjs.toFixed(4)} | ${r.bf16F64.toFixed(4)} | ${r.f64Tfjs.toExponential(1)} |`,
    );
  return lines.join('\n');
}

const on = process.env.CUTREC_BF16_TABLE === '1';
const only = process.env.CUTREC_BF16_ONLY;

describe.skipIf(!on)('bf16 storage against fp32, per tensor', () => {
  for (const activation of ['gelu', 'relu'] as const) {
    it(`the contract cases (${activation})`, { timeout: 600_000 }, async () => {
      if (only && only !== 'cases') return;
      for (const c of cases) {
        for (const seed of [7, 8, 9]) {
          const config = { ...c.model, activation, seed };
          const optimizer = { lr: 1e-3, weightDecay: 0.01, clipNorm: c.clipNorm ?? 0 };
          const model = new SASRec(config);
          const params = Object.fromEntries(
            model.parameters.map((p) => [p.name, p.variable.dataSync() as Float32Array]),
          );
          const { maxLen: L, numItems: C } = model.config;
          model.dispose();
          const batch = randomBatch(seed + 11, c.rows ?? c.B, L, C, c.emptyRow);
          const m = await measureStep(
            config,
            { loss: c.loss, optimizer, batchSize: c.B },
            { step: 0, params },
            batch,
          );
          console.log(table(`${c.name} (${activation}, seed ${seed})`, m));
        }
      }
    });
  }

  const big = (process.env.CUTREC_BF16_BIG ?? 'B32-D64-H2-T0-gelu').split(',');
  const summary: string[] = [];
  for (const spec of big) {
    it(`${spec}`, { timeout: 3_600_000 }, async () => {
      if (only && only !== 'big') return;
      const get = (k: string, d: number) => Number(new RegExp(`${k}([\\d.]+)`).exec(spec)?.[1] ?? d);
      const [B, D, H, L, C, T, S, Q] = [
        get('B', 32),
        get('D', 64),
        get('H', 2),
        get('L', 50),
        get('C', 300),
        get('T', 0),
        get('S', 3),
        get('Q', 1),
      ];
      const activation = spec.includes('relu') ? ('relu' as const) : ('gelu' as const);
      const loss: LossSpec = spec.includes('cce')
        ? { kind: 'cce-', negatives: 64, impl: 'reference' }
        : { kind: 'ce', impl: 'reference' };
      const optimizer = { lr: get('LR', 1e-3), weightDecay: 0.01, clipNorm: 0 };
      const data = syntheticDataset({
        numUsers: 4000,
        numItems: C,
        numGroups: 8,
        minLength: 20,
        maxLength: 70,
        seed: 1,
      });
      const worst = new Map<string, number>();
      let fp32 = 0;
      let logitScale = 0;
      let worstMeasure = { gradient: 0, update: 0, name: '' };
      let lossErr = 0;
      let lastLoss = 0;
      for (let seed = 1; seed <= S; seed++) {
        const config: SASRecConfig = {
          numItems: C,
          maxLen: L,
          hidden: D,
          numBlocks: 2,
          numHeads: H,
          dropout: 0.2,
          activation,
          seed,
          norm: spec.includes('post') ? 'post' : 'pre',
        };
        const init = new SASRec(config);
        const params = Object.fromEntries(
          init.parameters.map((p) => [p.name, Float32Array.from(p.variable.dataSync() as Float32Array)]),
        );
        init.dispose();
        for (const [n, p] of Object.entries(params))
          if (/attn\.w[qk]$/.test(n)) for (let i = 0; i < p.length; i++) p[i]! *= Q;
        const batches = (function* () {
          for (let e = 0; ; e++)
            yield* trainingBatches(
              data.split.train,
              { batchSize: B, maxLen: L, numItems: C, seed, dropLast: true },
              e,
            );
        })();
        const pre = new FusedTrainer(config, new HostDevice(), { loss, optimizer, batchSize: B }, params);
        for (let s = 0; s < T; s++) pre.trainStep(batches.next().value!);
        const state = T > 0 ? { step: T, params: pre.parameters(), ...pre.moments() } : { step: 0, params };
        pre.dispose();
        // How far training (or Q) has grown the attention logits' scale: ‖W_q‖·‖W_k‖ over block 0's at this seed's default init.
        const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((x, y) => x + y * y, 0));
        const qk = (p: Named) => norm(p['blocks.0.attn.wq']!) * norm(p['blocks.0.attn.wk']!);
        logitScale = Math.max(logitScale, (qk(state.params) * Q * Q) / qk(params));
        const m = await measureStep(config, { loss, optimizer, batchSize: B }, state, batches.next().value!);
        console.log(table(`${spec} seed ${seed}`, m));
        for (const [k, r] of m.rows) worst.set(k, Math.max(worst.get(k) ?? 0, r.bf16Tfjs));
        for (const [k, r] of m.rows) if (k !== 'attn.bk') fp32 = Math.max(fp32, r.f64Tfjs);
        if (m.measure.gradient > worstMeasure.gradient)
          worstMeasure = { ...worstMeasure, gradient: m.measure.gradient, name: m.measure.gradientName };
        worstMeasure.update = Math.max(worstMeasure.update, m.measure.update);
        lossErr = Math.max(lossErr, Math.abs(m.loss.bf16 - m.loss.tfjs));
        lastLoss = m.loss.tfjs;
      }
      const top = [...worst].filter(([k]) => k !== 'attn.bk').sort((a, b) => b[1] - a[1]);
      const f = (k: string) => (worst.get(k) ?? 0).toFixed(3);
      summary.push(
        `| ${spec} | ${B * L} | ${lastLoss.toFixed(2)} | ${lossErr.toExponential(1)} | ${top[0]?.[0]} ${top[0]?.[1].toFixed(3)} | ${f('attn.wq')} | ${f('attn.wk')} | ${f('attn.bq')} | ${f('ffn.w1')} | ${(worst.get('attn.bk') ?? 0).toExponential(0)} | ${worstMeasure.gradient.toFixed(3)} (${worstMeasure.name}) | ${worstMeasure.update.toFixed(3)} | ${fp32.toExponential(1)} | ${logitScale.toFixed(1)} |`,
      );
      console.log(
        [
          '| spec | rows B·L | loss | loss err | worst tensor but bk (own max) | attn.wq | attn.wk | attn.bq | ffn.w1 | attn.bk (own max) | contract measure: gradients | updated | fp32 (tfjs) vs f64, worst but bk | ‖W_q‖‖W_k‖ / init |',
          '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
          ...summary,
        ].join('\n'),
      );
    });
  }
});
