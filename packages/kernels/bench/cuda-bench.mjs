#!/usr/bin/env node
// Benchmark of impl 'cuda' on the device API (no host copies): forward + backward time (CUDA
// events, median of --repeats after --warmup) and peak extra device memory (cutrec's CUDA meter:
// bytes allocated during the call beyond the inputs and the preallocated gradient outputs) at
// the four shapes of issue 4, for share row / block(64) / batch and float32 / bfloat16.
//   node bench/cuda-bench.mjs [--out cuda-bench.json] [--repeats 7] [--warmup 2]
//        [--shapes beauty,ml20m,gowalla,zvuk] [--modes row,block,batch] [--dtypes float32,bfloat16]
//        [--f32 tf32x3|tf32] [--kernels auto,tile-wmma]  (each kernel choice is a row of its own)
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cudaCceBackward, cudaCceForward, cudaKernelsUnavailableReason } from '@cutrec/kernels';
import { CudaContext, CudaEvent, cudaMemoryMeter, DeviceBuffer, packBf16 } from '@cutrec/tensor';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'cuda-bench.json' },
    repeats: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    shapes: { type: 'string', default: 'beauty,ml20m,gowalla,zvuk' },
    modes: { type: 'string', default: 'row,block,batch' },
    dtypes: { type: 'string', default: 'float32,bfloat16' },
    f32: { type: 'string', default: 'tf32x3' },
    kernels: { type: 'string', default: 'auto' },
  },
});

// issue 4's shapes and the published Triton CCE- kernel on an H200 (fp16, fwd+bwd)
const SHAPES = {
  beauty: { N: 32768, C: 152043, D: 256, K: 511, tritonMs: 18.3, tritonMiB: 256 },
  ml20m: { N: 131072, C: 15405, D: 256, K: 511, tritonMs: 57.6, tritonMiB: 1025 },
  gowalla: { N: 327680, C: 300000, D: 256, K: 511, tritonMs: 185, tritonMiB: 2561 },
  zvuk: { N: 131072, C: 893022, D: 256, K: 2047, tritonMs: 304, tritonMiB: 4097 },
};

const why = cudaKernelsUnavailableReason();
if (why) {
  console.error(why);
  process.exit(1);
}
const ctx = CudaContext.get();
const meter = cudaMemoryMeter();
console.log(`device: ${ctx.device.name} (cc ${ctx.device.computeCapability}, ${ctx.device.smCount} SMs)`);

// Fills a device buffer with normal(0, 0.5²) values in `dtype`, from a 1M-value host block
// repeated with a rotating offset (random data, not zeros; cheap to make at any size).
function randomBuffer(count, dtype) {
  const block = 1 << 20;
  const host = new Float32Array(block + 997);
  for (let i = 0; i < host.length; i++) {
    const u = Math.max(Math.random(), 1e-12);
    host[i] = 0.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }
  const packed = dtype === 'bfloat16' ? packBf16(host) : host;
  const elt = dtype === 'bfloat16' ? 2 : 4;
  const buf = new DeviceBuffer(count * elt, ctx);
  for (let off = 0, k = 0; off < count; off += block, k++) {
    const n = Math.min(block, count - off);
    const start = (k * 131) % 997;
    buf.write(packed.subarray(start, start + n), off * elt);
  }
  return buf;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const rows = [];
for (const shapeName of args.shapes.split(',')) {
  const s = SHAPES[shapeName];
  if (!s) throw new Error(`unknown shape ${shapeName}`);
  const targetsHost = Int32Array.from({ length: s.N }, () => Math.floor(Math.random() * s.C));
  const targetsBuf = DeviceBuffer.from(targetsHost, ctx);
  const dLoss = DeviceBuffer.from(new Float32Array(s.N).fill(1 / s.N), ctx);
  const dHidden = new DeviceBuffer(s.N * s.D * 4, ctx);
  const dItems = new DeviceBuffer(s.C * s.D * 4, ctx);
  for (const dtype of args.dtypes.split(',')) {
    const hidden = { buffer: randomBuffer(s.N * s.D, dtype), shape: [s.N, s.D], dtype };
    const items = { buffer: randomBuffer(s.C * s.D, dtype), shape: [s.C, s.D], dtype };
    const targets = { buffer: targetsBuf, shape: [s.N], dtype: 'int32' };
    for (const [mode, kernel] of args.modes
      .split(',')
      .flatMap((m) => args.kernels.split(',').map((k) => [m, k]))) {
      if (mode === 'row' && kernel !== 'auto') continue;
      const options = { negatives: s.K, share: mode, blockRows: 64, seed: 1234, step: 0 };
      const call = { f32Precision: args.f32, kernel };
      let mid;
      const once = (step) => {
        const o = { ...options, step };
        const f = cudaCceForward(hidden, items, targets, o, call);
        mid?.record();
        const b = cudaCceBackward(hidden, items, targets, f.lse, dLoss, o, call, { dHidden, dItems });
        return { f, b };
      };
      let kernels = '';
      try {
        for (let i = 0; i < Number(args.warmup); i++) {
          const { f } = once(i);
          f.loss.free();
          f.lse.free();
        }
        ctx.synchronize();
        const times = [];
        const fwdTimes = [];
        let extra = 0;
        for (let i = 0; i < Number(args.repeats); i++) {
          const before = meter.read().current;
          meter.resetPeak();
          const e0 = new CudaEvent(ctx).record();
          mid = new CudaEvent(ctx);
          const { f, b } = once(100 + i);
          const e1 = new CudaEvent(ctx).record();
          times.push(e0.elapsedMs(e1));
          fwdTimes.push(e0.elapsedMs(mid));
          mid.destroy();
          mid = undefined;
          extra = Math.max(extra, meter.read().peak - before);
          kernels = `${f.kernel} + ${b.kernel}`;
          f.loss.free();
          f.lse.free();
          e0.destroy();
          e1.destroy();
        }
        const ms = median(times);
        const row = {
          shape: shapeName,
          N: s.N,
          C: s.C,
          D: s.D,
          K: s.K,
          dtype,
          share: mode,
          blockRows: mode === 'block' ? 64 : undefined,
          f32Precision: dtype === 'float32' ? args.f32 : undefined,
          kernelChoice: kernel,
          ms,
          fwdMs: median(fwdTimes),
          minMs: Math.min(...times),
          maxMs: Math.max(...times),
          extraMiB: extra / 2 ** 20,
          vsTritonTime: ms / s.tritonMs,
          vsTritonMemory: extra / 2 ** 20 / s.tritonMiB,
          kernels,
          times,
        };
        rows.push(row);
        console.log(
          `${shapeName.padEnd(8)} ${dtype.padEnd(9)} ${mode.padEnd(6)} ${ms.toFixed(3).padStart(9)} ms (fwd ${row.fwdMs.toFixed(3)})  ` +
            `(${(row.vsTritonTime * 100).toFixed(1)}% of Triton)  extra ${row.extraMiB.toFixed(2)} MiB  ${kernels}`,
        );
      } catch (err) {
        console.log(`${shapeName} ${dtype} ${mode}: FAILED ${err.message}`);
        rows.push({ shape: shapeName, dtype, share: mode, error: err.message });
      }
    }
    hidden.buffer.free();
    items.buffer.free();
  }
  targetsBuf.free();
  dLoss.free();
  dHidden.free();
  dItems.free();
}

const result = {
  device: ctx.device,
  date: new Date().toISOString(),
  command: `node bench/cuda-bench.mjs ${process.argv.slice(2).join(' ')}`,
  rows,
};
writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);

console.log(`\n| shape | dtype | share | fwd+bwd ms | vs Triton time | extra MiB | vs Triton mem |`);
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  if (r.error) {
    console.log(`| ${r.shape} | ${r.dtype} | ${r.share} | failed: ${r.error.slice(0, 60)} | | | |`);
    continue;
  }
  console.log(
    `| ${r.shape} | ${r.dtype} | ${r.share}${r.blockRows ? ` (${r.blockRows})` : ''} | ${r.ms.toFixed(2)} | ` +
      `${(r.vsTritonTime * 100).toFixed(1)}% | ${r.extraMiB.toFixed(2)} | ${(r.vsTritonMemory * 100).toFixed(2)}% |`,
  );
}
