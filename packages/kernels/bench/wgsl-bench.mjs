#!/usr/bin/env node
/**
 * Times forward + backward of the 'wgsl' CCE- implementation on a WebGPU device (GPU timestamp
 * queries when the device has 'timestamp-query', else wall time to queue.onSubmittedWorkDone),
 * with warm-up and repeats (median, min, max), peak extra memory from @cutrec/tensor's meter,
 * and achieved TFLOP/s and GB/s from the FLOPs and bytes each mode must move (see BENCHMARKS.md).
 *
 *   node bench/wgsl-bench.mjs [--quick] [--out results.json] [--shapes beauty,ml20m] [--shares row,block,batch]
 *                             [--warmup 2] [--repeats 5]
 *
 * Needs the built package (`npx tsup`). `--quick` runs small shapes (for lavapipe / CI smoke).
 */
import { writeFileSync } from 'node:fs';
import { createDevice, deviceInfo, measurePeak, setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { resolveOptions, setWgslTuning, wgslImplementation } from '../dist/index.js';

/** The shapes, with the published Triton CCE- numbers on an H200 (fp16). */
const SHAPES = [
  { name: 'beauty', N: 32768, C: 152043, D: 256, K: 511, tritonMs: 18.3, tritonMiB: 256 },
  { name: 'ml20m', N: 131072, C: 15405, D: 256, K: 511, tritonMs: 57.6, tritonMiB: 1025 },
  { name: 'gowalla', N: 327680, C: 300000, D: 256, K: 511, tritonMs: 185, tritonMiB: 2561 },
  { name: 'zvuk', N: 131072, C: 893022, D: 256, K: 2047, tritonMs: 304, tritonMiB: 4097 },
];
const QUICK = [
  { name: 'quick-a', N: 1024, C: 5000, D: 64, K: 63 },
  { name: 'quick-b', N: 2048, C: 1531, D: 48, K: 127 },
];

/** The WebGPU fp32 matmul ceiling and copy bandwidth measured on an H200 (for context in the table). */
const CEILING = { tflops: 9, tbps: 4 };

function parseArgs(argv) {
  const a = {
    quick: false,
    out: undefined,
    shapes: undefined,
    shares: ['row', 'block', 'batch'],
    warmup: 2,
    repeats: 5,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--quick') a.quick = true;
    else if (k === '--out') a.out = v();
    else if (k === '--shapes') a.shapes = v().split(',');
    else if (k === '--shares') a.shares = v().split(',');
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--repeats') a.repeats = Number(v());
    else if (k === '--help' || k === '-h') {
      console.log(
        'usage: node bench/wgsl-bench.mjs [--quick] [--out file.json] [--shapes a,b] [--shares row,block,batch] [--warmup n] [--repeats n]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

/**
 * FLOPs and bytes the kernels must at least do for one forward + backward (fp32).
 * - row: every logit gathers its own item row: forward reads N·K rows of W, backward reads them
 *   again and adds g·h into dItems (read + write); FLOPs 2NKD (logits) + 6NKD (recompute, G·W, Gᵀ·H).
 * - block / batch: a group's K rows of W are read once per pass and per group; backward
 *   recomputes logits in both gradient kernels: 10NKD FLOPs.
 * Both add the target terms (8ND FLOPs) and reading H, writing dH, writing dItems.
 */
function cost(s, share, blockRows) {
  const { N, C, D, K } = s;
  const f = 4;
  const base = N * D * f * 3 + C * D * f + N * D * 8; // H (fwd, bwd ×2), dH write, dItems clear, target rows
  if (share === 'row') {
    return { flops: 8 * N * K * D + 8 * N * D, bytes: base + N * K * D * f * 4 };
  }
  const groups = share === 'block' ? Math.ceil(N / blockRows) : 1;
  return { flops: 10 * N * K * D + 8 * N * D, bytes: base + groups * K * D * f * 5 };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeOnce(device, ts, run) {
  await device.queue.onSubmittedWorkDone();
  if (ts) ts.used = 0;
  const t0 = performance.now();
  const outs = run();
  await device.queue.onSubmittedWorkDone();
  const wall = performance.now() - t0;
  tf.dispose(outs);
  if (!ts || ts.used === 0) return { ms: wall, wallMs: wall, source: 'wall' };
  const n = ts.used * 2;
  const enc = device.createCommandEncoder();
  enc.resolveQuerySet(ts.querySet, 0, n, ts.resolve, 0);
  enc.copyBufferToBuffer(ts.resolve, 0, ts.read, 0, n * 8);
  device.queue.submit([enc.finish()]);
  await ts.read.mapAsync(GPUMapMode.READ);
  const t = new BigUint64Array(ts.read.getMappedRange().slice(0, n * 8));
  ts.read.unmap();
  let ns = 0n;
  for (let i = 0; i < ts.used; i++) ns += t[2 * i + 1] - t[2 * i];
  return { ms: Number(ns) / 1e6, wallMs: wall, source: 'timestamp-query' };
}

async function benchOne(device, ts, s, share, args) {
  const blockRows = 64;
  const row = {
    name: s.name,
    share,
    N: s.N,
    C: s.C,
    D: s.D,
    K: s.K,
    blockRows: share === 'block' ? blockRows : undefined,
  };
  const bytesIn = (s.N + s.C) * s.D * 4;
  const maxBuf = device.limits.maxBufferSize;
  if (Math.max(s.N, s.C) * s.D * 4 > maxBuf)
    return { ...row, skipped: `limit: a tensor exceeds maxBufferSize ${maxBuf}` };
  const { flops, bytes } = cost(s, share, blockRows);
  const o = resolveOptions(
    { negatives: s.K, share, blockRows, impl: 'wgsl', checkInputs: false, seed: 1, step: 0 },
    { N: s.N, C: s.C, D: s.D },
    'webgpu',
  );
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const h = tf.randomNormal([s.N, s.D], 0, 0.5);
  const w = tf.randomNormal([s.C, s.D], 0, 0.5);
  const t = tf.randomUniform([s.N], 0, s.C, 'int32');
  const dl = tf.fill([s.N], 1 / s.N);
  const run = () => {
    const f = wgslImplementation.forward(h, w, t, o);
    const g = wgslImplementation.backward(h, w, t, f.lse, dl, o);
    return [f.loss, f.lse, g.dHidden, g.dItems];
  };
  try {
    for (let i = 0; i < args.warmup; i++) await timeOnce(device, undefined, run);
    const { peakExtraBytes } = await measurePeak(async () => {
      const outs = run();
      await device.queue.onSubmittedWorkDone();
      tf.dispose(outs);
    });
    const times = [];
    let source = 'wall';
    for (let i = 0; i < args.repeats; i++) {
      const r = await timeOnce(device, ts, run);
      times.push(r.ms);
      source = r.source;
    }
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (oom) return { ...row, skipped: `OOM: ${oom.message}` };
    if (validation) return { ...row, skipped: `validation error: ${validation.message}` };
    const ms = median(times);
    const gradBytes = bytesIn;
    return {
      ...row,
      ms,
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      times,
      timing: source,
      gflop: flops / 1e9,
      tflops: flops / (ms / 1e3) / 1e12,
      gbytes: bytes / 1e9,
      gbps: bytes / (ms / 1e3) / 1e9,
      peakExtraMiB: peakExtraBytes / 2 ** 20,
      peakExtraBeyondGradsMiB: (peakExtraBytes - gradBytes) / 2 ** 20,
      tritonMs: s.tritonMs,
      tritonMiB: s.tritonMiB,
      targetMs: s.tritonMs ? (share === 'row' ? s.tritonMs : s.tritonMs / 3) : undefined,
      targetMiB: s.tritonMiB ? s.tritonMiB / 10 : undefined,
    };
  } catch (err) {
    await device.popErrorScope().catch(() => undefined);
    await device.popErrorScope().catch(() => undefined);
    return { ...row, skipped: `error: ${err.message.split('\n')[0]}` };
  } finally {
    tf.dispose([h, w, t, dl]);
  }
}

function fmt(x, d = 1) {
  return x === undefined ? '' : x.toFixed(d);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const device = await createDevice();
  await setupTfjs({ backend: 'webgpu', device });
  const info = deviceInfo(device);
  let ts;
  if (device.features.has('timestamp-query')) {
    const count = 4096;
    ts = {
      querySet: device.createQuerySet({ type: 'timestamp', count }),
      used: 0,
      resolve: device.createBuffer({
        size: count * 8,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      }),
      read: device.createBuffer({
        size: count * 8,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      }),
    };
    setWgslTuning({ timestamps: ts });
  }
  let shapes = args.quick ? QUICK : SHAPES;
  if (args.shapes) shapes = shapes.filter((s) => args.shapes.includes(s.name));
  const results = [];
  console.log(
    `device: ${info.description || info.vendor} (${info.architecture}); timing: ${ts ? 'timestamp-query' : 'wall'}`,
  );
  console.log(
    '| shape | share | ms (median) | min–max | TFLOP/s | GB/s | peak extra MiB | beyond grads MiB | target ms | target MiB |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of shapes) {
    for (const share of args.shares) {
      const r = await benchOne(device, ts, s, share, args);
      results.push(r);
      if (r.skipped) console.log(`| ${r.name} | ${share} | ${r.skipped} | | | | | | | |`);
      else
        console.log(
          `| ${r.name} | ${share} | ${fmt(r.ms, 2)} | ${fmt(r.minMs, 2)}–${fmt(r.maxMs, 2)} | ${fmt(r.tflops, 2)} | ${fmt(r.gbps, 0)} | ${fmt(r.peakExtraMiB, 1)} | ${fmt(r.peakExtraBeyondGradsMiB, 2)} | ${fmt(r.targetMs, 1)} | ${fmt(r.targetMiB, 1)} |`,
        );
    }
  }
  const out = {
    date: new Date().toISOString(),
    command: `node bench/wgsl-bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    device: info,
    ceiling: CEILING,
    results,
  };
  if (args.out) {
    writeFileSync(args.out, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${args.out}`);
  }
  device.destroy();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
