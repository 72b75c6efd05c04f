#!/usr/bin/env node
// CUDA check of @cutrec/sampler: generates ≥ 10^6 random cases and their answers with the
// TypeScript sampler (dist/, so run `npx tsup` first), compiles cuda/sampler_check.cu with nvcc,
// runs it, and compares its host-path and GPU results with the TypeScript answers bit for bit.
//
//   node scripts/cuda-check.mjs [--require-gpu] [--arch sm_90] [--cases N]
//
// Skips (exit 0, printed reason) where nvcc is missing, or — after checking the host path — where
// no CUDA device is usable, unless --require-gpu is given (then exit 1). Exit 1 on any mismatch.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const requireGpu = args.includes('--require-gpu');
const arch = opt('--arch', 'sm_90');
const nUni = Number(opt('--cases', String(1 << 20)));
const log = (msg) => console.log(`cuda-check: ${msg}`);

if (!existsSync(join(root, 'dist', 'index.js'))) {
  log('dist/index.js is missing: run `npx tsup` in packages/sampler first');
  process.exit(1);
}
const S = await import(join(root, 'dist', 'index.js'));

// ---- nvcc --------------------------------------------------------------------------------
function findNvcc() {
  const candidates = [
    process.env.NVCC,
    'nvcc',
    process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    '/usr/local/cuda/bin/nvcc',
  ].filter(Boolean);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { nvcc: c, version: (r.stdout.match(/release [\d.]+/) ?? ['?'])[0] };
  }
  return undefined;
}
const found = findNvcc();
if (!found) {
  log('skipped — nvcc not found (set NVCC or CUDA_HOME, or put nvcc on PATH)');
  process.exit(requireGpu ? 1 : 0);
}

// ---- cases ---------------------------------------------------------------------------------
let s = 0x2545f491;
const r = () => {
  s = (s + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
};
const randomSeed = () => (r() % 4 === 0 ? 0 : (r() & 0x1fffff) * 2 ** 32) + r(); // 3/4 are ≥ 2^32

const M = 0xffffffff;
const kat = [
  [0, 0, 0, 0, 0, 0],
  [M, M, M, M, M, M],
  [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0],
];
const katWant = [
  [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
  [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
];

const special = [1, 2, 3, 2 ** 31 - 1, 2 ** 31, M, 1000, 65_537];
const uni = new Uint32Array(nUni * 6);
for (let i = 0; i < nUni; i++) {
  const [k0, k1] = S.seedKey(randomSeed());
  uni.set(
    [
      k0,
      k1,
      i % 3 === 0 ? r() : r() & 0xffff,
      i % 5 === 0 ? r() : r() & 0x3ff,
      i % 7 === 0 ? r() : r() & 0xfffff,
    ],
    i * 6,
  );
  uni[i * 6 + 5] = i % 2 === 0 ? special[(i >> 1) % special.length] : Math.max(1, r());
}

const C = 1531;
const counts = Float64Array.from({ length: C }, (_, c) => (c % 97 === 5 ? 0 : Math.floor(5e4 / (c + 1)) + 1));
const table = S.buildAliasTable(counts, { alpha: 0.75 });
const targets = Int32Array.from({ length: 4099 }, (_, i) => (i % 11 === 0 ? -1 : (i * 7919) % C));
const SEEDS = 16;
const seeds = Array.from({ length: SEEDS }, (_, i) => (i === 0 ? 0 : randomSeed()));
const specs = (kind) =>
  seeds.map((seed) =>
    kind === 'popularity' ? { kind, numItems: C, seed, table } : { kind, numItems: C, seed, targets },
  );
const { arrays: batchArrays, n: V } = S.samplerBuffers(specs('inBatch')[0]);

function drawCases(kind, n) {
  const sp = specs(kind);
  const draw = sp.map((x) => S.drawerOf(x));
  const lq = S.sampleLogQ(sp[0]);
  const cases = new Uint32Array(n * 5);
  const want = new Uint32Array(n * 2);
  const f = new Float32Array(1);
  const fb = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    const k = i % SEEDS;
    const [k0, k1] = S.seedKey(seeds[k]);
    const g = i % 3 === 0 ? r() : r() & 0xffff;
    const j = r() & 0x3ff;
    const st = r() & 0xfffff;
    cases.set([k0, k1, g, j, st], i * 5);
    const item = draw[k](g, j, st);
    want[i * 2] = item;
    f[0] = lq(item);
    want[i * 2 + 1] = fb[0];
  }
  return { cases, want };
}
const nPop = 1 << 18;
const nBatch = 1 << 18;
const pop = drawCases('popularity', nPop);
const bat = drawCases('inBatch', nBatch);

const nGroup = 10_000;
const grp = new Uint32Array(nGroup * 3);
const grpWant = new Uint32Array(nGroup);
const shares = ['row', 'block', 'batch'];
for (let i = 0; i < nGroup; i++) {
  const row = i % 2 ? r() : r() & 0xffff;
  const mode = i % 3;
  const blockRows = 1 + (r() % (i % 5 === 0 ? M : 300));
  grp.set([row, mode, blockRows], i * 3);
  grpWant[i] = S.groupOf(shares[mode], blockRows, row);
}

const header = [0x43535243, 1, kat.length, nUni, C, nPop, V, nBatch, nGroup];
const parts = [
  Uint32Array.from(header),
  Uint32Array.from(kat.flat()),
  uni,
  table.prob,
  table.alias,
  new Uint32Array(table.logQ.buffer.slice(0)),
  pop.cases,
  batchArrays[0],
  new Uint32Array(batchArrays[1].buffer.slice(0)),
  bat.cases,
  grp,
];
const work = join(root, 'build', 'cuda-check');
mkdirSync(work, { recursive: true });
const inPath = join(work, 'in.bin');
const outPath = join(work, 'out.bin');
writeFileSync(inPath, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));

// ---- compile and run -------------------------------------------------------------------------
const exe = join(work, 'sampler_check');
const cc = spawnSync(
  found.nvcc,
  [
    `-arch=${arch}`,
    '-std=c++17',
    '-O2',
    '-I',
    join(root, 'cuda'),
    join(root, 'cuda', 'sampler_check.cu'),
    '-o',
    exe,
  ],
  { encoding: 'utf8' },
);
if (cc.status !== 0) {
  log(`nvcc (${found.version}) failed:\n${cc.stderr}${cc.stdout}`);
  process.exit(1);
}
const run = spawnSync(exe, [inPath, outPath], { encoding: 'utf8' });
for (const line of run.stdout.trim().split('\n')) if (line) log(`sampler_check: ${line}`);
if (run.stderr) process.stderr.write(run.stderr);
if (run.status !== 0 && run.status !== 77) {
  log(`sampler_check exited with ${run.status ?? run.signal}`);
  process.exit(1);
}

// ---- compare ---------------------------------------------------------------------------------
const outBuf = readFileSync(outPath);
const out = new Uint32Array(outBuf.buffer, outBuf.byteOffset, outBuf.byteLength / 4);
const hasDevice = out[0] === 1;
const ow = kat.length * 4 + nUni * 6 + nPop * 2 + nBatch * 2 + nGroup;
const f32 = (w) => new Float32Array(Uint32Array.of(w).buffer)[0];

function compare(res) {
  let o = 0;
  const bad = {
    kat: 0,
    katCases: 0,
    words: 0,
    uniform: 0,
    uniformLogQ: 0,
    popularity: 0,
    inBatch: 0,
    group: 0,
  };
  for (let i = 0; i < kat.length; i++) {
    let off = 0;
    for (let k = 0; k < 4; k++) if (res[o + i * 4 + k] !== katWant[i][k] >>> 0) off++;
    bad.kat += off;
    if (off > 0) bad.katCases++;
  }
  o += kat.length * 4;
  const w = new Uint32Array(4);
  for (let i = 0; i < nUni; i++) {
    const c = uni.subarray(i * 6, i * 6 + 6);
    S.philox4x32_10(c[2], c[3], c[4], 0, c[0], c[1], w);
    const x = res.subarray(o + i * 6, o + i * 6 + 6);
    for (let k = 0; k < 4; k++) if (x[k] !== w[k]) bad.words++;
    if (x[4] !== S.mulhi32(w[0], c[5])) bad.uniform++;
    const want = -Math.log(c[5]);
    if (!(Math.abs(f32(x[5]) - want) <= 1e-6 * Math.max(1, Math.abs(want)))) bad.uniformLogQ++;
  }
  o += nUni * 6;
  for (let i = 0; i < nPop * 2; i++) if (res[o + i] !== pop.want[i]) bad.popularity++;
  o += nPop * 2;
  for (let i = 0; i < nBatch * 2; i++) if (res[o + i] !== bat.want[i]) bad.inBatch++;
  o += nBatch * 2;
  for (let i = 0; i < nGroup; i++) if (res[o + i] !== grpWant[i]) bad.group++;
  return bad;
}
const summary = (where, bad) => {
  const total = Object.values(bad).reduce((a, b) => a + b, 0) - bad.katCases;
  const line =
    `${where}: known answers ${kat.length - bad.katCases}/${kat.length}, ` +
    `uniform ${nUni} draws (words ${bad.words} off, items ${bad.uniform} off, log q ${bad.uniformLogQ} outside 1e-6), ` +
    `popularity ${nPop} (${bad.popularity} words off of item + log q), inBatch ${nBatch} (${bad.inBatch} words off), groups ${nGroup} (${bad.group} off)`;
  log(`${total === 0 ? 'OK  ' : 'FAIL'} ${line}`);
  return total === 0;
};

let ok = summary('host path', compare(out.subarray(1, 1 + ow)));
if (hasDevice) {
  ok = summary('GPU', compare(out.subarray(1 + ow, 1 + 2 * ow))) && ok;
} else {
  log(`GPU: skipped — no usable CUDA device (${run.stdout.trim().split('\n').pop()})`);
  if (requireGpu) ok = false;
}
const total = kat.length + nUni + nPop + nBatch + nGroup;
log(
  `${ok ? 'PASS' : 'FAIL'}: ${total} cases, nvcc ${found.version} -arch=${arch}, ${hasDevice ? 'host + GPU' : 'host only'}`,
);
process.exit(ok ? 0 : 1);
