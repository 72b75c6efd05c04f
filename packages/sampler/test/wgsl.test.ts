/**
 * The WGSL sampler on a real WebGPU device (lavapipe on CI): Random123 known answers, bit-for-bit
 * agreement with the TypeScript draws on 2^20 random (seed, group, j, stream, C), and the three
 * kinds × three share modes through `cutrec_group` + `cutrec_draw` against `negatives()`.
 */
import { webgpuForTests } from '@cutrec/tensor/testing';
import { describe, expect, it } from 'vitest';
import { buildAliasTable } from '../src/alias.js';
import { samplerBuffers } from '../src/buffers.js';
import { negatives, sampleLogQ } from '../src/negatives.js';
import { mulhi32, philox4x32_10, seedKey } from '../src/philox.js';
import { philoxWGSL } from '../src/philox.wgsl.js';
import { samplerWGSL, shareMode } from '../src/sampler.wgsl.js';
import type { SamplerKind, SamplerSpec, Share } from '../src/types.js';
import { POISON, runCompute } from './compute.js';
import { rng } from './stats.js';

const { device } = await webgpuForTests();

const f32bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
const bitsF32 = (w: number) => new Float32Array(new Uint32Array([w]).buffer)[0]!;

describe.skipIf(!device)('WGSL sampler (WebGPU)', () => {
  const dev = device as GPUDevice;

  it('passes the Random123 known-answer vectors', async () => {
    const code = `${philoxWGSL}
@group(0) @binding(0) var<storage, read> io: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x * 6u;
  let w = philox4x32_10(vec4<u32>(io[b], io[b + 1u], io[b + 2u], io[b + 3u]), vec2<u32>(io[b + 4u], io[b + 5u]));
  out[gid.x * 4u] = w.x; out[gid.x * 4u + 1u] = w.y; out[gid.x * 4u + 2u] = w.z; out[gid.x * 4u + 3u] = w.w;
}`;
    const m = 0xffffffff;
    const io = Uint32Array.from([
      ...[0, 0, 0, 0, 0, 0],
      ...[m, m, m, m, m, m],
      ...[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0],
    ]);
    const [out] = await runCompute(dev, code, [io, { out: 12 }], [3]);
    expect(Array.from(out!, (x) => x.toString(16).padStart(8, '0'))).toEqual([
      ...['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'],
      ...['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'],
      ...['d16cfe09', '94fdcceb', '5001e420', '24126ea1'],
    ]);
  });

  it('agrees with TypeScript bit for bit on 2^20 random (seed, group, j, stream, C)', async () => {
    const N = 1 << 20;
    const r = rng(31337);
    const special = [1, 2, 3, 2 ** 31 - 1, 2 ** 31, 0xffffffff, 1000, 65_537];
    const cases = new Uint32Array(N * 6);
    for (let i = 0; i < N; i++) {
      const b = i * 6;
      // seed = k0 + 2^32 k1 < 2^53; a quarter have k1 = 0 (seed < 2^32), the rest seeds ≥ 2^32.
      const seed = (r() % 4 === 0 ? 0 : (r() & 0x1fffff) * 2 ** 32) + r();
      const [k0, k1] = seedKey(seed);
      cases[b] = k0;
      cases[b + 1] = k1;
      cases[b + 2] = i % 3 === 0 ? r() : r() & 0xffff; // group
      cases[b + 3] = i % 5 === 0 ? r() : r() & 0x3ff; // j
      cases[b + 4] = i % 7 === 0 ? r() : r() & 0xfffff; // stream
      cases[b + 5] = i % 2 === 0 ? special[(i >> 1) % special.length]! : Math.max(1, r());
    }
    const { code } = samplerWGSL('uniform', { group: 1, binding: 0 });
    const shader = `${code}
@group(0) @binding(0) var<storage, read> cases: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= arrayLength(&cases) / 6u) { return; }
  let b = i * 6u;
  let key = vec2<u32>(cases[b], cases[b + 1u]);
  let w = cutrec_words(key, cases[b + 2u], cases[b + 3u], cases[b + 4u]);
  let d = cutrec_draw(key, cases[b + 2u], cases[b + 3u], cases[b + 4u], cases[b + 5u]);
  out[i * 6u] = w.x; out[i * 6u + 1u] = w.y; out[i * 6u + 2u] = w.z; out[i * 6u + 3u] = w.w;
  out[i * 6u + 4u] = d.item; out[i * 6u + 5u] = bitcast<u32>(d.log_q);
}`;
    const [out] = await runCompute(dev, shader, [cases, { out: N * 6 }], [N / 64]);
    const w = new Uint32Array(4);
    let wordMismatch = 0;
    let itemMismatch = 0;
    let maxLogQErr = 0;
    let firstBad = -1;
    for (let i = 0; i < N; i++) {
      const b = i * 6;
      philox4x32_10(cases[b + 2]!, cases[b + 3]!, cases[b + 4]!, 0, cases[b]!, cases[b + 1]!, w);
      for (let k = 0; k < 4; k++) if (out![b + k] !== w[k]) wordMismatch++;
      const C = cases[b + 5]!;
      if (out![b + 4] !== mulhi32(w[0]!, C)) {
        itemMismatch++;
        if (firstBad < 0) firstBad = i;
      }
      if (i % 64 === 0) {
        const want = -Math.log(C);
        maxLogQErr = Math.max(
          maxLogQErr,
          Math.abs(bitsF32(out![b + 5]!) - want) / Math.max(1, Math.abs(want)),
        );
      }
    }
    expect(firstBad, `first mismatching case ${firstBad}`).toBe(-1);
    expect(wordMismatch).toBe(0);
    expect(itemMismatch).toBe(0);
    // −log(f32(C)) in f32 with WGSL's log: relative error ≤ 1e-6 (f32 rounding of C and log's ulps).
    expect(maxLogQErr).toBeLessThan(1e-6);
  });

  const C = 1531;
  const counts = Float64Array.from({ length: C }, (_, c) =>
    c % 97 === 5 ? 0 : Math.floor(5e4 / (c + 1)) + 1,
  );
  const table = buildAliasTable(counts, { alpha: 0.75 });
  const targets = Int32Array.from({ length: 301 }, (_, i) => (i % 11 === 0 ? -1 : (i * 7919) % C));
  const specOf = (kind: SamplerKind, share: Share, seed: number): SamplerSpec => {
    const base = { numItems: C, seed, share, blockRows: 7 };
    if (kind === 'popularity') return { ...base, kind, table };
    if (kind === 'inBatch') return { ...base, kind, targets };
    return { ...base, kind };
  };

  const combos: [SamplerKind, Share][] = [];
  for (const kind of ['uniform', 'popularity', 'inBatch'] as const) {
    for (const share of ['row', 'block', 'batch'] as const) combos.push([kind, share]);
  }

  it.each(combos)(
    '%s / %s: cutrec_group + cutrec_draw give negatives() items and their log q',
    async (kind, share) => {
      const rows = 333;
      const K = 257;
      const stream = 12;
      const spec = specOf(kind, share, 2 ** 45 + 3 * rows);
      const want = negatives(spec, rows, K, stream);
      const { arrays, n } = samplerBuffers(spec);
      const { code, bindings } = samplerWGSL(kind, { group: 1, binding: 0 });
      expect(bindings).toBe(arrays.length);
      const [k0, k1] = seedKey(spec.seed);
      const params = Uint32Array.from([k0, k1, shareMode(share), 7, stream, n, rows, K]);
      const shader = `${code}
@group(0) @binding(0) var<storage, read> params: array<u32, 8>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let rows = params[6];
  let k = params[7];
  if (i >= rows * k) { return; }
  let row = i / k;
  let j = i % k;
  let d = cutrec_draw(vec2<u32>(params[0], params[1]), cutrec_group(row, params[2], params[3]), j, params[4], params[5]);
  out[2u * i] = d.item;
  out[2u * i + 1u] = bitcast<u32>(d.log_q);
}`;
      const [out] = await runCompute(
        dev,
        shader,
        [params, { out: 2 * rows * K }],
        [Math.ceil((rows * K) / 64)],
        [arrays],
      );
      const lq = sampleLogQ(spec);
      let itemMismatch = 0;
      let logQMismatch = 0;
      for (let i = 0; i < rows * K; i++) {
        if (out![2 * i] !== want[i]) itemMismatch++;
        if (kind !== 'uniform' && out![2 * i + 1] !== f32bits(lq(want[i]!))) logQMismatch++;
      }
      expect(itemMismatch).toBe(0);
      expect(logQMismatch).toBe(0); // popularity/inBatch read f32(log q) from their buffers exactly
      expect(out!.includes(POISON)).toBe(false);
    },
  );

  it('inBatch with every row ignored draws item 0xffffffff without reading the buffers', async () => {
    const spec: SamplerSpec = { kind: 'inBatch', numItems: 5, seed: 1, targets: [-1, -1, -1] };
    const { arrays, n } = samplerBuffers(spec);
    expect(n).toBe(0);
    const { code } = samplerWGSL('inBatch', { group: 1, binding: 0 });
    const shader = `${code}
@group(0) @binding(0) var<storage, read> params: array<u32, 1>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  out[gid.x] = cutrec_draw(vec2<u32>(1u, 0u), gid.x, 0u, 0u, params[0]).item;
}`;
    const [out] = await runCompute(dev, shader, [Uint32Array.of(n), { out: 3 }], [3], [arrays]);
    expect(Array.from(out!)).toEqual([0xffffffff, 0xffffffff, 0xffffffff]);
    expect(Array.from(negatives(spec, 3, 1, 0))).toEqual([-1, -1, -1]);
  });
});
