#!/usr/bin/env node
// Builds cutrec's CUDA kernels (cuda/cce.cu, src/ops/*/*.cu) into build/*.fatbin with nvcc: SASS for sm_80,
// sm_86, sm_89 and sm_90 plus compute_90 PTX (CUTREC_CUDA_ARCHS="90" or similar builds fewer).
// The sampler's CUDA headers come from @cutrec/sampler's cuda/ folder, resolved here at build
// time. Without nvcc this says so and exits 0: impl 'cuda' then reports itself unavailable.
// Skips the compile when build/cce.json records the same sources, flags and nvcc.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const out = join(pkg, 'build');

function findNvcc() {
  const candidates = [process.env.NVCC, process.env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc'].filter(
    Boolean,
  );
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0)
      return { nvcc: c, version: (r.stdout.match(/release [\d.]+, V[\d.]+/) ?? [r.stdout.trim()])[0] };
  }
  return undefined;
}

const found = findNvcc();
if (!found) {
  console.warn(
    '[cutrec] nvcc not found: the CUDA kernels are not built; impl "cuda" will report itself unavailable.',
  );
  process.exit(0);
}

const samplerCuda = join(
  dirname(createRequire(import.meta.url).resolve('@cutrec/sampler/package.json')),
  'cuda',
);
if (!existsSync(join(samplerCuda, 'sampler.cuh'))) {
  console.error(`[cutrec] @cutrec/sampler's CUDA headers are missing (looked in ${samplerCuda})`);
  process.exit(1);
}

const archs = (process.env.CUTREC_CUDA_ARCHS ?? '80,86,89,90')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const ptxArch = archs[archs.length - 1];
const gencode = archs.flatMap((a) => [
  '-gencode',
  a === ptxArch ? `arch=compute_${a},code=[sm_${a},compute_${a}]` : `arch=compute_${a},code=sm_${a}`,
]);
const flags = [
  '-std=c++17',
  '-O3',
  '-fatbin',
  '--threads',
  '0',
  '-diag-suppress',
  '128',
  `-I${samplerCuda}`,
  ...gencode,
];

// Targets: the loss kernels (cuda/cce.cu → build/cce.fatbin) and one fatbin per layer op
// (src/ops/<op>/<op>.cu → build/ops/<op>.fatbin, with src/ops/common.cuh beside them).
const opsDir = join(pkg, 'src', 'ops');
const cudaFiles = (dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.(cu|cuh)$/.test(f))
        .map((f) => join(dir, f))
    : [];
const samplerFiles = cudaFiles(samplerCuda).filter((f) => f.endsWith('.cuh'));
const targets = [
  {
    name: 'cce',
    main: join(here, 'cce.cu'),
    out: join(out, 'cce.fatbin'),
    deps: [...cudaFiles(here), join(opsDir, 'mma.cuh')],
    inc: [`-I${opsDir}`],
  },
  ...(existsSync(opsDir) ? readdirSync(opsDir) : [])
    .filter((op) => existsSync(join(opsDir, op, `${op}.cu`)))
    .map((op) => ({
      name: `ops/${op}`,
      main: join(opsDir, op, `${op}.cu`),
      out: join(out, 'ops', `${op}.fatbin`),
      deps: [...cudaFiles(join(opsDir, op)), ...cudaFiles(opsDir)],
      inc: [`-I${opsDir}`],
    })),
];

/** Compiles one target unless its manifest records the same sources, flags and nvcc. */
function buildTarget(t) {
  const manifest = t.out.replace(/\.fatbin$/, '.json');
  const sources = [...t.deps, ...samplerFiles].sort();
  const hash = createHash('sha256');
  for (const f of sources) hash.update(f.slice(f.lastIndexOf('/'))).update(readFileSync(f));
  hash.update(JSON.stringify(flags.filter((f) => !f.startsWith('-I')))).update(found.version);
  const digest = hash.digest('hex');
  if (existsSync(t.out) && existsSync(manifest)) {
    try {
      if (JSON.parse(readFileSync(manifest, 'utf8')).digest === digest) {
        console.log(`[cutrec] build/${t.name}.fatbin is up to date`);
        return;
      }
    } catch {}
  }
  mkdirSync(dirname(t.out), { recursive: true });
  const tmp = `${t.out}.tmp`;
  console.log(
    `[cutrec] nvcc (${found.version}) → build/${t.name}.fatbin for sm_${archs.join(', sm_')} + compute_${ptxArch} PTX`,
  );
  const t0 = Date.now();
  try {
    execFileSync(found.nvcc, [...flags, ...t.inc, '-o', tmp, t.main], { stdio: 'inherit' });
  } catch {
    rmSync(tmp, { force: true });
    console.error(`[cutrec] nvcc failed: ${t.main} did not compile`);
    process.exit(1);
  }
  renameSync(tmp, t.out);
  writeFileSync(
    manifest,
    `${JSON.stringify({ digest, nvcc: found.version, archs: archs.map((a) => `sm_${a}`), ptx: `compute_${ptxArch}`, builtAt: new Date().toISOString() }, null, 2)}\n`,
  );
  console.log(`[cutrec] built build/${t.name}.fatbin in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

// CUTREC_CUDA_ONLY=attention,layernorm builds just those op targets (while working on one op).
const only = process.env.CUTREC_CUDA_ONLY?.split(',').map((s) => s.trim());
for (const t of targets) if (!only || only.some((o) => t.name === o || t.name === `ops/${o}`)) buildTarget(t);
