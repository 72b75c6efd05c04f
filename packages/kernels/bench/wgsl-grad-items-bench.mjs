#!/usr/bin/env node
/**
 * Times the CCE- backward's tile kernels on raw buffers (wgslCceBackwardSteps) with grad-items
 * adding into dItems by CAS atomics ('cas') and by the gather ('gather': partial sums, counting
 * sort by item, per-item sums; src/wgsl/gather.ts), per kernel from per-dispatch GPU timestamps,
 * and checks that both give the same dItems (max |Δ| / max |dItems|) and whether each gives the
 * same bits twice.
 *
 *   node bench/wgsl-grad-items-bench.mjs [--shape ml20m|small|N,C,D,K,blockRows] [--layout gpu|cpu]
 *                                        [--modes cas,gather] [--repeats 3] [--budget MiB] [--distinct-targets]
 *
 * `--distinct-targets`: row i's target is item i (rows past C ignored), so the target kernel's CAS
 * adds meet no other add and any run-to-run difference in dItems comes from grad-items.
 *
 * Needs the built package (`npx tsup`) and an adapter with 'timestamp-query'.
 */
import { createDevice, deviceInfo } from '@cutrec/tensor';
import {
  Runner,
  readPassTimestamps,
  resolveOptions,
  setWgslTuning,
  wgslCceBackwardSteps,
  wgslCceForwardSteps,
} from '../dist/index.js';

const SHAPES = {
  // ML-20M at the fused engine's step: 256 × 512 rows in groups of 64, K 511, D 256.
  ml20m: { N: 131072, C: 15405, D: 256, K: 511, blockRows: 64 },
  small: { N: 4096, C: 2000, D: 64, K: 127, blockRows: 64 },
};

function parseArgs(argv) {
  const a = {
    shape: 'small',
    layout: 'gpu',
    modes: ['cas', 'gather'],
    repeats: 3,
    budget: undefined,
    distinct: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--shape') a.shape = v();
    else if (k === '--layout') a.layout = v();
    else if (k === '--modes') a.modes = v().split(',');
    else if (k === '--repeats') a.repeats = Number(v());
    else if (k === '--budget') a.budget = Number(v()) * 2 ** 20;
    else if (k === '--distinct-targets') a.distinct = true;
    else throw new Error(`unknown argument ${k} (see the header of this file)`);
  }
  const s = SHAPES[a.shape];
  if (s) a.dims = s;
  else {
    const [N, C, D, K, blockRows] = a.shape.split(',').map(Number);
    a.dims = { N, C, D, K, blockRows };
  }
  return a;
}

function buffer(device, data) {
  const b = device.createBuffer({
    size: Math.max(4, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(b, 0, data);
  return b;
}

function randomFloats(n, seed, scale) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

async function readBack(device, b, size) {
  const r = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, r, 0, size);
  device.queue.submit([enc.finish()]);
  await r.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(r.getMappedRange().slice(0));
  r.unmap();
  r.destroy();
  return out;
}

/** Inputs, and lse from the forward steps. */
async function inputs(device, dims, o, distinct) {
  const { N, C, D } = dims;
  const targets = distinct
    ? Int32Array.from({ length: N }, (_, i) => (i < C ? i : -1))
    : Int32Array.from(randomFloats(N, 3, 1), (u) => Math.floor(((u + 1) / 2) * C) % C);
  const bufs = {
    hidden: buffer(device, randomFloats(N * D, 1, 0.5)),
    items: buffer(device, randomFloats(C * D, 2, 0.5)),
    targets: buffer(device, targets),
    lse: buffer(device, new Float32Array(N)),
    loss: buffer(device, new Float32Array(N)),
    dLoss: buffer(device, new Float32Array(N).fill(1 / N)),
    dHidden: buffer(device, new Float32Array(N * D)),
    dItems: buffer(device, new Float32Array(C * D)),
  };
  const f = wgslCceForwardSteps(device, dims, bufs, o);
  Runner.of(device).submit(f.steps);
  await device.queue.onSubmittedWorkDone();
  f.release();
  return bufs;
}

/** GPU ms per backward of each program key (mean over `repeats`), and dItems of one backward. */
async function timeMode(device, dims, o, bufs, repeats, tuning) {
  const count = 4096;
  const ts = { querySet: device.createQuerySet({ type: 'timestamp', count }), used: 0, labels: [] };
  const b = wgslCceBackwardSteps(device, dims, bufs, o);
  // Two clean runs (the first also warms the pipelines): their dItems, to compare.
  const runs = [];
  for (let r = 0; r < 2; r++) {
    const clear = device.createCommandEncoder();
    clear.clearBuffer(bufs.dItems);
    device.queue.submit([clear.finish()]);
    Runner.of(device).submit(b.steps);
    runs.push(await readBack(device, bufs.dItems, dims.C * dims.D * 4));
  }
  const [dItems, again] = runs;
  const bits = (x) => new Uint32Array(x.buffer);
  const differing = bits(dItems).filter((v, i) => v !== bits(again)[i]).length;
  setWgslTuning({ ...tuning, timestamps: ts });
  for (let r = 0; r < repeats; r++) Runner.of(device).submit(b.steps);
  setWgslTuning(tuning);
  b.release();
  const byKey = new Map();
  for (const { label, ms } of await readPassTimestamps(device, ts)) {
    const family = label.split('/').slice(0, 2).join('/');
    byKey.set(family, (byKey.get(family) ?? 0) + ms / repeats);
  }
  ts.querySet.destroy();
  return { byKey, dItems, differing };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const device = await createDevice();
  if (!device.features.has('timestamp-query')) throw new Error('the adapter has no timestamp-query');
  const { N, C, D, K, blockRows } = a.dims;
  const info = deviceInfo(device);
  console.log(
    `${info.description || info.device} — N ${N} C ${C} D ${D} K ${K} block ${blockRows}, layout ${a.layout}`,
  );
  const host = {
    N,
    C,
    D,
    hidden: new Float32Array(0),
    items: new Float32Array(0),
    targets: new Int32Array(N),
  };
  const o = resolveOptions(
    { negatives: K, share: 'block', blockRows, seed: 5, step: 1, impl: 'wgsl', checkInputs: false },
    host,
    'webgpu',
  );
  const base = { layout: a.layout, ...(a.budget ? { gatherScratchBytes: a.budget } : {}) };
  setWgslTuning(base);
  const bufs = await inputs(device, a.dims, o, a.distinct);
  const results = {};
  for (const mode of a.modes) {
    const tuning = { ...base, gradItems: mode };
    setWgslTuning(tuning);
    results[mode] = await timeMode(device, a.dims, o, bufs, a.repeats, tuning);
  }
  for (const [mode, r] of Object.entries(results)) {
    let total = 0;
    const parts = [...r.byKey.entries()].map(([k, ms]) => {
      if (k !== 'target/bwd' && k !== 'tile/grad-hidden') total += ms;
      return `${k} ${ms.toFixed(2)}`;
    });
    console.log(
      `${mode.padEnd(7)} grad-items (+ gather) ${total.toFixed(2)} ms | ${parts.join(' | ')} | dItems elements differing between two runs: ${r.differing}`,
    );
  }
  if (results.cas && results.gather) {
    const x = results.cas.dItems;
    const y = results.gather.dItems;
    let md = 0;
    let mx = 0;
    for (let i = 0; i < x.length; i++) {
      md = Math.max(md, Math.abs(x[i] - y[i]));
      mx = Math.max(mx, Math.abs(x[i]));
    }
    console.log(`dItems cas vs gather: max |Δ| / max |dItems| = ${(md / mx).toExponential(2)}`);
  }
}

await main();
