#!/usr/bin/env node
// Times the fused SASRec step's two largest layer ops on CUDA at their step shapes, alone (CUDA
// events, median of --repeats runs of --reps calls each): the attention forward and backward
// (bf16, dropout 0 and 0.2) and the linear layer's three GEMMs (forward X·W + b, dX = dY·Wᵀ,
// dW = Xᵀ·dY into float32). Prints useful TFLOP/s and, for the GEMMs, GB/s of their operands.
//   node bench/cuda-layers-bench.mjs [--ops attention,gemm] [--shapes ml20m,beauty,beauty-d64]
//        [--rates 0,0.2] [--repeats 5] [--reps 10] [--algorithms] [--json out.json]
// --algorithms: also times each GEMM with every usable algorithm cuBLASLt's heuristic offers (and
// the forward with a bf16 bias), the heuristic's first choice being what cudaMatmul runs.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  attentionKeepWords,
  cudaAttentionBackward,
  cudaAttentionForward,
  cudaMatmul,
  deviceView,
  ltDescFor,
  opUnavailableReason,
} from '@cutrec/kernels';
import { CudaContext, CudaEvent, CudaStream, DeviceBuffer, GemmPlan, packBf16 } from '@cutrec/tensor';

const { values: argv } = parseArgs({
  options: {
    ops: { type: 'string', default: 'attention,gemm' },
    shapes: { type: 'string', default: 'ml20m,beauty,beauty-d64' },
    rates: { type: 'string', default: '0,0.2' },
    repeats: { type: 'string', default: '5' },
    reps: { type: 'string', default: '10' },
    json: { type: 'string' },
    algorithms: { type: 'boolean', default: false },
  },
});

// The step shapes of packages/models' bench configs (2 heads; F = D).
const SHAPES = {
  ml20m: { B: 256, L: 512, D: 256, H: 2 },
  beauty: { B: 1024, L: 32, D: 256, H: 2 },
  'beauty-d64': { B: 256, L: 50, D: 64, H: 2 },
};

const why = opUnavailableReason('attention') ?? opUnavailableReason('linear');
if (why) {
  console.error(why);
  process.exit(1);
}
const ctx = CudaContext.get();
console.log(`device: ${ctx.device.name} (cc ${ctx.device.computeCapability}, ${ctx.device.smCount} SMs)`);
const stream = new CudaStream(undefined, true);
const repeats = Number(argv.repeats);
const reps = Number(argv.reps);

/** A bf16 (or float32) buffer of n random values in [-1, 1), as a device view. */
function randomView(n, dtype = 'bfloat16') {
  const block = new Float32Array(1 << 16).map(() => 2 * Math.random() - 1);
  const host = Float32Array.from({ length: n }, (_, i) => block[(i * 7919) & 0xffff]);
  const bytes = dtype === 'bfloat16' ? packBf16(host) : host;
  const buffer = new DeviceBuffer(bytes.byteLength, ctx);
  buffer.write(bytes);
  return deviceView(buffer, 0, bytes.byteLength);
}
const emptyView = (bytes) => deviceView(new DeviceBuffer(bytes, ctx), 0, bytes);

/** Median over `repeats` of the mean ms of `reps` back-to-back calls of fn (after one warm-up). */
function time(fn) {
  fn();
  const ms = [];
  for (let r = 0; r < repeats; r++) {
    const a = new CudaEvent().record(stream);
    for (let i = 0; i < reps; i++) fn();
    const b = new CudaEvent().record(stream);
    ms.push(a.elapsedMs(b) / reps);
  }
  return ms.sort((x, y) => x - y)[Math.floor(ms.length / 2)];
}

const rows = [];
function row(r) {
  rows.push(r);
  const gb = r.gbps ? ` · ${r.gbps.toFixed(0)} GB/s` : '';
  console.log(
    `${r.shape.padEnd(10)} ${r.op.padEnd(40)} ${r.ms.toFixed(3).padStart(8)} ms · ${r.tflops.toFixed(0)} TFLOP/s${gb}`,
  );
}

function attention(name, s) {
  const { B, L, D, H } = s;
  const dh = D / H;
  const R = B * L;
  const ids = Int32Array.from({ length: R }, (_, r) =>
    r % L < Math.floor(r / L) % (L / 4) ? 0 : 1 + (r % 997),
  );
  const step = new DeviceBuffer(4, ctx);
  step.write(new Uint32Array([7]));
  const shape = { ids: randomIds(ids), B, L, H, dh, padId: 0, scale: 1 / Math.sqrt(dh), dtype: 'bfloat16' };
  const [q, k, v, dOut, out, dq, dk, dv] = Array.from({ length: 8 }, () => randomView(R * D));
  const lse = emptyView(B * H * L * 4);
  const delta = emptyView(B * H * L * 4);
  const pairs = B * H * ((L * (L + 1)) / 2);
  const keepWords = emptyView(attentionKeepWords(B, H, L) * 4);
  for (const rate of argv.rates.split(',').map(Number)) {
    const dropout = rate > 0 ? { seed: 1, site: 3, rate, step } : undefined;
    // with dropout: drawn in every kernel, then read from the keep mask (cuda.ts `keep`)
    for (const keep of rate > 0 ? [undefined, keepWords] : [undefined]) {
      const how = `dropout ${rate}${rate > 0 ? (keep ? ', mask' : ', drawn') : ''}`;
      const args = { ...shape, dropout, ...(keep ? { keep } : {}) };
      const fwd = () => cudaAttentionForward({ ...args, q, k, v, out, lse }, { stream });
      const bwd = () =>
        cudaAttentionBackward({ ...args, q, k, v, out, dOut, lse, dq, dk, dv, delta }, { stream });
      const f = time(fwd);
      row({ shape: name, op: `attention forward, ${how}`, ms: f, tflops: (4 * dh * pairs) / f / 1e9 });
      const b = time(bwd);
      row({ shape: name, op: `attention backward, ${how}`, ms: b, tflops: (10 * dh * pairs) / b / 1e9 });
    }
  }
}
function randomIds(ids) {
  const buffer = DeviceBuffer.from(ids, ctx);
  return deviceView(buffer, 0, ids.byteLength);
}

function gemm(name, s) {
  const R = s.B * s.L;
  const { D } = s;
  const x = randomView(R * D);
  const dy = randomView(R * D);
  const y = emptyView(R * D * 2);
  const w = randomView(D * D);
  const bias = randomView(D, 'float32');
  const dw = emptyView(D * D * 4);
  const flops = 2 * R * D * D;
  const bytes = 2 * R * D * 2;
  const biasBf16 = randomView(D);
  const addr = (v) => v.buffer.address + BigInt(v.byteOffset);
  const run = (op, a) => {
    const args = { dtypeA: 'bfloat16', dtypeB: 'bfloat16', ...a };
    const ms = time(() => cudaMatmul(args, { stream }));
    row({ shape: name, op, ms, tflops: flops / ms / 1e9, gbps: bytes / ms / 1e6 });
    if (!argv.algorithms) return;
    // The same problem through a GemmPlan per algorithm (as cudaMatmul builds it: ltDescFor).
    if (a.biasDtype === 'bfloat16') return; // swept with the float32 bias row
    for (const bias of a.bias ? ['float32', 'bfloat16'] : [undefined]) {
      const desc = { ...ltDescFor(args), ...(bias ? { bias } : {}) };
      let count = 0;
      try {
        count = new GemmPlan(desc, ctx).algorithms;
      } catch (e) {
        console.log(
          `${name.padEnd(10)}   no cuBLASLt plan${bias ? ` with a ${bias} bias` : ''}: ${e.cause?.message ?? e.message}`,
        );
      }
      for (let i = 0; i < count; i++) {
        const plan = new GemmPlan({ ...desc, algorithm: i }, ctx);
        const biasPtr = bias === 'float32' ? addr(a.bias) : bias ? addr(biasBf16) : undefined;
        const t = time(() =>
          plan.run({
            a: addr(a.b),
            b: addr(a.a),
            c: addr(a.c),
            bias: biasPtr,
            beta: a.accumulate ? 1 : 0,
            stream,
          }),
        );
        row({
          shape: name,
          op: `  algorithm ${i}/${count}${bias ? ` bias ${bias}` : ''}`,
          ms: t,
          tflops: flops / t / 1e9,
          gbps: bytes / t / 1e6,
        });
        plan.destroy();
      }
    }
  };
  const base = { M: R, N: D, K: D, transA: false, dtypeC: 'bfloat16' };
  run('gemm Y = X·W + b (f32 b)', { ...base, a: x, b: w, c: y, bias, transB: false });
  run('gemm Y = X·W + b (bf16 b)', {
    ...base,
    a: x,
    b: w,
    c: y,
    bias: biasBf16,
    biasDtype: 'bfloat16',
    transB: false,
  });
  run('gemm dX = dY·Wᵀ', { ...base, a: dy, b: w, c: y, transB: true });
  run('gemm dX += dY·Wᵀ', { ...base, a: dy, b: w, c: y, transB: true, accumulate: true });
  run('gemm dW = Xᵀ·dY (f32)', {
    a: x,
    b: dy,
    c: dw,
    M: D,
    N: D,
    K: R,
    transA: true,
    transB: false,
    dtypeC: 'float32',
  });
}

for (const name of argv.shapes.split(',')) {
  const s = SHAPES[name];
  if (!s) throw new Error(`unknown shape ${name} (one of ${Object.keys(SHAPES).join(', ')})`);
  for (const op of argv.ops.split(',')) {
    if (op === 'attention') attention(name, s);
    else if (op === 'gemm') gemm(name, s);
    else throw new Error(`unknown op ${op} (attention, gemm)`);
  }
}
if (argv.json) writeFileSync(argv.json, `${JSON.stringify({ device: ctx.device.name, rows }, null, 1)}\n`);
