#!/usr/bin/env node
/**
 * Times the fused SASRec training step on WebGPU (WebGpuDevice: the WGSL kernels of
 * @cutrec/kernels, the step recorded once and replayed) at the configurations, with the
 * losses read back once per timed run (nothing waits on the queue inside the loop), beside the
 * tfjs engine's step when `--tfjs` is given. Prints a table; `--out f.json` writes the rows.
 *
 *   node bench/webgpu-step.mjs [--configs beauty-d64,ml20m,synthetic,readme] [--share block|row|batch (default: the config's, else block)] [--steps 30] [--warmup 20] [--quick]
 *                              [--tfjs] [--tfjs-backend cpu|webgpu] [--profile] [--precision fp32,f16] [--gemm-math f16]
 *
 * Before timing, 3 steps are awaited (pipelines built, the step recorded) and `--warmup` more are
 * queued and awaited together: a GPU's first second of work after idling runs at lower clocks
 * (the first config of a device call ran beauty-d64 at 9.8–15 ms against 5 ms later).
 *
 * `--profile` (adapters with 'timestamp-query') then runs 3 more steps with a pass per dispatch
 * and prints each kernel's GPU time per step (those passes cost a little more than the step's).
 *
 * Needs built packages (npm run build). On the GPU machine, in one device call with the PyTorch
 * anchor: source .device/setup.sh && node packages/models/bench/webgpu-step.mjs --configs beauty-d64,ml20m
 */
import { writeFileSync } from 'node:fs';
import { readPassTimestamps, setWgslTuning, wgslLayoutOf } from '@cutrec/kernels';
import { createDevice, deviceInfo, memoryMeter, setupTfjs } from '@cutrec/tensor';
import { FusedTrainer, SASRec, Trainer, WebGpuDevice } from '../dist/index.js';

// C, D, B, L, K; 2 blocks, 2 heads, dropout 0.2 unless given (apps/bench/src/shapes.ts STEP_CONFIGS).
const CONFIGS = {
  'beauty-d64': { C: 152043, D: 64, B: 256, L: 50, K: 256, torchMs: 7.7 },
  ml20m: { C: 15405, D: 256, B: 256, L: 512, K: 511, torchMs: 18.2 },
  beauty: { C: 152043, D: 256, B: 1024, L: 32, K: 511, torchMs: 8.1 },
  // cutrec train's defaults on the synthetic dataset (200 items, sequences ≤ 20, D 64, batch 128, K 128).
  synthetic: { C: 200, D: 64, B: 128, L: 20, K: 128 },
  quick: { C: 2000, D: 32, B: 16, L: 20, K: 32 },
  // The README's `cutrec train` (apps/trainer's quick preset on the synthetic dataset: maxLen 'auto' = 17,
  // batch 64, K 128 with the trainer's default share 'row', 1 block, 1 head, dropout 0.1).
  readme: { C: 200, D: 32, B: 64, L: 17, K: 128, blocks: 1, heads: 1, dropout: 0.1, share: 'row' },
};

function parseArgs(argv) {
  const a = {
    configs: ['beauty-d64', 'ml20m'],
    share: undefined,
    steps: 30,
    warmup: 20,
    out: undefined,
    tfjs: false,
    tfjsBackend: 'cpu',
    profile: false,
    precisions: ['fp32'],
    gemmMath: 'f32',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--configs') a.configs = v().split(',');
    else if (k === '--share') a.share = v();
    else if (k === '--steps') a.steps = Number(v());
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--quick') a.configs = ['quick'];
    else if (k === '--tfjs') a.tfjs = true;
    else if (k === '--tfjs-backend') a.tfjsBackend = v();
    else if (k === '--profile') a.profile = true;
    else if (k === '--precision') a.precisions = v().split(',');
    else if (k === '--gemm-math') a.gemmMath = v();
    else if (k === '--out') a.out = v();
    else throw new Error(`unknown argument ${k} (see the header of this file)`);
  }
  return a;
}

/** GPU ms per step of each kernel (program key) over `steps` steps, from per-dispatch timestamps. */
async function profileSteps(device, fused, batches, steps) {
  const count = 4096; // WebGPU's largest query set
  const ts = { querySet: device.createQuerySet({ type: 'timestamp', count }), used: 0, labels: [] };
  setWgslTuning({ timestamps: ts });
  for (let s = 0; s < steps; s++) fused.enqueueStep(batches[s % batches.length]);
  await fused.takeLossesAsync();
  setWgslTuning({});
  const byKey = new Map();
  for (const { label, ms } of await readPassTimestamps(device, ts)) {
    const e = byKey.get(label) ?? { ms: 0, n: 0 };
    e.ms += ms / steps;
    e.n += 1 / steps;
    byKey.set(label, e);
  }
  ts.querySet.destroy();
  return [...byKey.entries()].map(([key, e]) => ({ key, ms: e.ms, calls: e.n })).sort((a, b) => b.ms - a.ms);
}

function batch(seed, B, L, C) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const inputs = new Int32Array(B * L).fill(C);
  const targets = new Int32Array(B * L).fill(-1);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(rnd() * (L / 2));
    for (let t = start; t < L; t++) {
      inputs[b * L + t] = Math.floor(rnd() * C);
      targets[b * L + t] = Math.floor(rnd() * C);
    }
  }
  return { inputs, targets };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const device = await createDevice();
  console.log(`device: ${JSON.stringify(deviceInfo(device))}`);
  await setupTfjs(args.tfjsBackend === 'webgpu' ? { backend: 'webgpu', device } : { backend: 'cpu' });
  const rows = [];
  for (const name of args.configs) {
    const c = CONFIGS[name];
    if (!c) throw new Error(`unknown config ${name}; known: ${Object.keys(CONFIGS).join(', ')}`);
    const cfg = {
      numItems: c.C,
      maxLen: c.L,
      hidden: c.D,
      numBlocks: c.blocks ?? 2,
      numHeads: c.heads ?? 2,
      dropout: c.dropout ?? 0.2,
      seed: 1,
    };
    const share = args.share ?? c.share ?? 'block';
    const loss = {
      kind: 'cce-',
      negatives: c.K,
      share,
      ...(share === 'block' ? { blockRows: 64 } : {}),
    };
    const model = new SASRec(cfg);
    // The engine's device buffers (parameters, moments, activations, the kernels' scratch) through the meter.
    const meter = memoryMeter();
    for (const precision of args.precisions) {
      if (precision !== 'fp32' && precision !== 'f16')
        throw new Error(`--precision: fp32 or f16, got ${precision}`);
      if (precision === 'f16' && !device.features.has('shader-f16')) {
        console.log(`${name.padEnd(11)} fused webgpu f16: skipped, this adapter has no 'shader-f16'`);
        continue;
      }
      const base = meter.read().current;
      meter.resetPeak();
      const dtype = precision === 'f16' ? 'float16' : 'float32';
      const fused = new FusedTrainer(
        model,
        new WebGpuDevice(device, { dtype, ...(precision === 'f16' ? { gemmMath: args.gemmMath } : {}) }),
        {
          loss,
          optimizer: { lr: 1e-3 },
          batchSize: c.B,
        },
      );
      const batches = Array.from({ length: 4 }, (_, i) => batch(17 + i, c.B, c.L, c.C));
      const t0 = performance.now();
      for (let s = 0; s < 3; s++) await fused.trainStepAsync(batches[s % 4]); // builds pipelines, records the step
      for (let s = 0; s < args.warmup; s++) await fused.enqueueStepAsync(batches[s % 4]);
      await fused.takeLossesAsync();
      const warm = performance.now() - t0;
      const t1 = performance.now();
      for (let s = 0; s < args.steps; s++) fused.enqueueStep(batches[s % 4]);
      const losses = await fused.takeLossesAsync();
      const ms = (performance.now() - t1) / args.steps;
      const row = {
        config: name,
        engine: 'fused',
        device: 'webgpu',
        precision,
        share,
        stepMs: ms,
        warmupMs: warm,
        lossValue: losses.at(-1),
        peakBytes: meter.read().peak - base,
      };
      rows.push(row);
      console.log(
        `${name.padEnd(11)} fused webgpu ${precision} cce- ${share}: ${ms.toFixed(2)} ms/step · ${(row.peakBytes / 2 ** 20).toFixed(0)} MiB (warm-up ${(warm / 1000).toFixed(1)} s; PyTorch eager on an H200, 2026-12-01: ${c.torchMs ?? '-'} ms), loss ${row.lossValue?.toFixed(4)}`,
      );
      if (args.profile && device.features.has('timestamp-query')) {
        const prof = await profileSteps(device, fused, batches, 3);
        const total = prof.reduce((a, p) => a + p.ms, 0);
        row.profile = prof;
        console.log(
          `  kernels (layout ${wgslLayoutOf(device)}), GPU ms per step: ${total.toFixed(2)} in all`,
        );
        for (const p of prof) {
          console.log(
            `  ${p.key.padEnd(44)} ${p.ms.toFixed(2).padStart(9)} ms  ${p.calls.toFixed(0).padStart(4)} calls`,
          );
        }
      }
      fused.dispose();
    }
    if (args.tfjs) {
      const tfjs = new Trainer(model, { loss, optimizer: { lr: 1e-3 } });
      await tfjs.trainStepAsync(batches[0]);
      const t2 = performance.now();
      const n = Math.max(2, Math.floor(args.steps / 10));
      for (let s = 0; s < n; s++) await tfjs.trainStepAsync(batches[s % 4]);
      const tms = (performance.now() - t2) / n;
      rows.push({ config: name, engine: 'tfjs', device: args.tfjsBackend, stepMs: tms });
      console.log(`${name.padEnd(11)} tfjs (${args.tfjsBackend} backend): ${tms.toFixed(1)} ms/step`);
      tfjs.dispose();
    }
    model.dispose();
  }
  if (args.out) writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
  device.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
