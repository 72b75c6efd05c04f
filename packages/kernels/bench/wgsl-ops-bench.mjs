#!/usr/bin/env node
/**
 * Times the layer ops' WGSL kernels (src/ops/<op>/wgsl.ts) at the fused SASRec step's shapes on a
 * WebGPU device: each op's dispatches are recorded once (a runner `Recording`), encoded `--reps`
 * times into one command buffer, and timed to queue.onSubmittedWorkDone (median of `--repeats`),
 * so per-submit CPU cost is amortised and the number is the GPU's. Prints a table (ms per call,
 * GFLOP/s or GB/s) and writes JSON with `--out`.
 *
 *   node bench/wgsl-ops-bench.mjs [--shapes beauty-d64,ml20m] [--quick] [--reps 20] [--repeats 5] [--out f.json]
 *   node bench/wgsl-ops-bench.mjs --gemm-sweep [--shapes ml20m]   (the step's GEMM shapes under every
 *     'gpu' output tile, K step and split count; the default choice is marked with *)
 *
 * Needs the built package (npm run build -w @cutrec/kernels). `--quick` uses small shapes (lavapipe smoke).
 * On the GPU machine: source .device/setup.sh && node packages/kernels/bench/wgsl-ops-bench.mjs
 */
import { writeFileSync } from 'node:fs';
import { createDevice, deviceInfo } from '@cutrec/tensor';
import {
  gemmSplits,
  gemmTile,
  Runner,
  wgslActivationForward,
  wgslAdamwUpdate,
  wgslAttentionBackward,
  wgslAttentionForward,
  wgslEmbeddingBackward,
  wgslGradNormSquared,
  wgslLayerNormBackward,
  wgslLayerNormForward,
  wgslMatmul,
} from '../dist/index.js';

// B, L, D, heads, C (the configurations; FFN width = D as in SASRec).
const SHAPES = {
  'beauty-d64': { B: 256, L: 50, D: 64, H: 2, C: 152043 },
  ml20m: { B: 256, L: 512, D: 256, H: 2, C: 15405 },
  quick: { B: 8, L: 37, D: 48, H: 2, C: 2000 },
  synthetic: { B: 128, L: 20, D: 64, H: 2, C: 200 },
};

function parseArgs(argv) {
  const a = { shapes: ['beauty-d64', 'ml20m'], reps: 20, repeats: 5, out: undefined, gemmSweep: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--shapes') a.shapes = v().split(',');
    else if (k === '--quick') a.shapes = ['quick'];
    else if (k === '--reps') a.reps = Number(v());
    else if (k === '--repeats') a.repeats = Number(v());
    else if (k === '--out') a.out = v();
    else if (k === '--gemm-sweep') a.gemmSweep = true;
    else throw new Error(`unknown argument ${k} (see the header of this file)`);
  }
  return a;
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const device = await createDevice();
  const info = deviceInfo(device);
  console.log(`device: ${JSON.stringify(info)}`);
  const runner = Runner.of(device);
  const made = [];
  const buf = (n, fill = 0.01) => {
    const b = device.createBuffer({
      size: Math.max(16, n * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    const host = new Float32Array(Math.max(4, n));
    for (let i = 0; i < host.length; i++) host[i] = fill * Math.sin(i * 0.37);
    device.queue.writeBuffer(b, 0, host);
    made.push(b);
    return { buffer: b };
  };
  const intBuf = (values) => {
    const b = device.createBuffer({
      size: Math.max(16, values.length * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(b, 0, Int32Array.from(values));
    made.push(b);
    return { buffer: b };
  };
  const rows = [];
  for (const name of args.shapes) {
    const s = SHAPES[name];
    if (!s) throw new Error(`unknown shape ${name}; known: ${Object.keys(SHAPES).join(', ')}`);
    const { B, L, D, H, C } = s;
    const R = B * L;
    const dh = D / H;
    const ids = intBuf(Array.from({ length: R }, (_, r) => (r % L < L / 5 ? C : 1 + ((r * 7919) % (C - 1)))));
    const step = intBuf([3]);
    const drop = { seed: 1, site: 1, rate: 0.2 };
    const x = buf(R * D);
    const qkv = buf(R * 3 * D);
    const dqkv = buf(R * 3 * D);
    const w3 = buf(D * 3 * D);
    const out = buf(R * D);
    const dOut = buf(R * D);
    const lse = buf(B * H * L);
    const delta = buf(B * H * L);
    const mean = buf(R);
    const rstd = buf(R, 1);
    const gamma = buf(D, 1);
    const beta = buf(D);
    const nParams = C * D + 8 * D * D;
    const ops = args.gemmSweep
      ? gemmSweepOps(device, { R, D, x, qkv, dqkv, w3, out, buf })
      : [
          [
            'gemm fwd x·Wqkv [R,D]·[D,3D]',
            wgslMatmul(device, { a: x, b: w3, c: qkv, M: R, N: 3 * D, K: D, transA: false, transB: false }),
            { flops: 2 * R * D * 3 * D },
          ],
          [
            'gemm dX dY·Wᵀ [R,3D]·[3D,D]',
            wgslMatmul(device, { a: dqkv, b: w3, c: out, M: R, N: D, K: 3 * D, transA: false, transB: true }),
            { flops: 2 * R * D * 3 * D },
          ],
          [
            'gemm dW Xᵀ·dY [D,R]·[R,3D]',
            wgslMatmul(device, {
              a: x,
              b: dqkv,
              c: w3,
              M: D,
              N: 3 * D,
              K: R,
              transA: true,
              transB: false,
              accumulate: true,
            }),
            { flops: 2 * R * D * 3 * D },
          ],
          [
            'attention fwd (dropout)',
            wgslAttentionForward(device, {
              q: { buffer: qkv.buffer, offset: 0 },
              k: { buffer: qkv.buffer, offset: D },
              v: { buffer: qkv.buffer, offset: 2 * D },
              out,
              lse,
              ids,
              B,
              L,
              H,
              dh,
              stride: 3 * D,
              padId: C,
              scale: 1 / Math.sqrt(dh),
              dropout: drop,
              step,
            }),
            { flops: 2 * B * H * L * L * dh },
          ],
          [
            'attention bwd (dropout)',
            wgslAttentionBackward(device, {
              q: { buffer: qkv.buffer, offset: 0 },
              k: { buffer: qkv.buffer, offset: D },
              v: { buffer: qkv.buffer, offset: 2 * D },
              out,
              dOut,
              lse,
              dq: { buffer: dqkv.buffer, offset: 0 },
              dk: { buffer: dqkv.buffer, offset: D },
              dv: { buffer: dqkv.buffer, offset: 2 * D },
              delta,
              ids,
              B,
              L,
              H,
              dh,
              stride: 3 * D,
              padId: C,
              scale: 1 / Math.sqrt(dh),
              dropout: drop,
              step,
            }),
            { flops: 5 * B * H * L * L * dh },
          ],
          [
            'layernorm fwd (+residual, dropout)',
            wgslLayerNormForward(device, {
              x,
              residual: { a: out, dropout: drop },
              sum: dOut,
              y: qkv,
              gamma,
              beta,
              mean,
              rstd,
              R,
              D,
              eps: 1e-8,
              step,
            }),
            { bytes: 4 * R * D * 4 },
          ],
          [
            'layernorm bwd (+skip, residual grad)',
            wgslLayerNormBackward(device, {
              dy: x,
              s: out,
              gamma,
              mean,
              rstd,
              dx: dOut,
              dGamma: buf(D),
              dBeta: buf(D),
              R,
              D,
              dSkip: dOut,
              residualGrad: { da: qkv, dropout: drop },
              step,
            }),
            { bytes: 6 * R * D * 4 },
          ],
          [
            'activation fwd gelu (dropout)',
            wgslActivationForward(device, { pre: x, out, n: R * D, kind: 'gelu', dropout: drop, step }),
            { bytes: 2 * R * D * 4 },
          ],
          [
            'embedding bwd (scatter-add)',
            wgslEmbeddingBackward(device, {
              ids,
              dOut,
              dTable: buf(C * D),
              dPos: buf(L * D),
              R,
              L,
              D,
              scale: Math.sqrt(D),
              padId: C,
              V: C,
              dropout: drop,
              step,
            }),
            { bytes: 3 * R * D * 4 },
          ],
          (() => {
            const p = buf(nParams);
            const g = buf(nParams);
            const normSq = buf(1);
            return [
              'Σg² + AdamW (flat params)',
              [
                ...wgslGradNormSquared(device, { g, n: nParams, out: normSq }),
                ...wgslAdamwUpdate(device, {
                  params: p,
                  grads: g,
                  m: buf(nParams),
                  v: buf(nParams),
                  n: nParams,
                  nDecay: C * D,
                  step,
                  normSq,
                  lr: 1e-3,
                  schedule: { kind: 'constant' },
                  beta1: 0.9,
                  beta2: 0.98,
                  eps: 1e-8,
                  weightDecay: 0,
                  clipNorm: 1,
                }),
              ],
              { bytes: 8 * nParams * 4 },
            ];
          })(),
        ];
    for (const [op, steps, cost, best] of ops) {
      for (const st of steps) if ('program' in st) await runner.compile(st.program);
      const rec = runner.record(steps, op);
      const time = async (n) => {
        const enc = device.createCommandEncoder();
        for (let i = 0; i < n; i++) rec.encode(enc);
        const t0 = performance.now();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
        return (performance.now() - t0) / n;
      };
      await time(2);
      const ts = [];
      for (let i = 0; i < args.repeats; i++) ts.push(await time(args.reps));
      const ms = median(ts);
      const rate = cost.flops
        ? `${(cost.flops / ms / 1e6).toFixed(1)} GFLOP/s`
        : `${(cost.bytes / ms / 1e6).toFixed(1)} GB/s`;
      rows.push({ shape: name, op, ms, rate, dispatches: steps.length });
      console.log(
        `${name.padEnd(11)} ${(best ? '* ' : '') + op.padEnd(40)} ${ms.toFixed(3).padStart(9)} ms  ${rate}`,
      );
      rec.destroy();
    }
  }
  if (args.out)
    writeFileSync(args.out, JSON.stringify({ device: info, date: new Date().toISOString(), rows }, null, 2));
  for (const b of made) b.destroy();
  device.destroy();
}

/**
 * The fused step's GEMMs at one shape (q/k/v and D × D forward, their dX, their split-K weight
 * gradients) under each 'gpu' output tile, K step and split count; the library's default is marked.
 */
function gemmSweepOps(device, { R, D, x, qkv, dqkv, w3, out, buf }) {
  const ops = [];
  const part = buf(64 * D * 3 * D);
  const shapes = [
    ['nn [R,D]·[D,3D]', { a: x, b: w3, c: qkv, M: R, N: 3 * D, K: D, transA: false, transB: false }],
    ['nn [R,D]·[D,D]', { a: x, b: w3, c: out, M: R, N: D, K: D, transA: false, transB: false }],
    ['nt [R,3D]·[D,3D]ᵀ', { a: dqkv, b: w3, c: out, M: R, N: D, K: 3 * D, transA: false, transB: true }],
    ['nt [R,D]·[D,D]ᵀ', { a: x, b: w3, c: qkv, M: R, N: D, K: D, transA: false, transB: true }],
    [
      'tn [D,R]·[R,3D]',
      { a: x, b: dqkv, c: w3, M: D, N: 3 * D, K: R, transA: true, transB: false, accumulate: true },
    ],
    [
      'tn [D,R]·[R,D]',
      { a: x, b: out, c: w3, M: D, N: D, K: R, transA: true, transB: false, accumulate: true },
    ],
  ];
  for (const [label, g] of shapes) {
    const flops = 2 * g.M * g.N * g.K;
    const dflt = { tile: gemmTile(g.M, g.N), tileK: 8, splits: g.transA ? gemmSplits(g.M, g.N, g.K) : 1 };
    for (const tile of [64, 128]) {
      for (const tileK of tile === 128 ? [8, 16] : [8]) {
        for (const splits of g.transA ? [8, 16, 32, 48, 64] : [1]) {
          const splitK = splits > 1 ? { part, splits } : undefined;
          const best = tile === dflt.tile && (tile === 64 || tileK === dflt.tileK) && splits === dflt.splits;
          ops.push([
            `${label} t${tile}k${tileK} s${splits}`,
            wgslMatmul(device, { ...g, tile, tileK, ...(splitK ? { splitK } : {}) }),
            { flops },
            best,
          ]);
        }
      }
    }
  }
  return ops;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
