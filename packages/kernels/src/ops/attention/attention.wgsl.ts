/**
 * WGSL of the attention op (reference.ts is the contract; attention.cu the CUDA twin, same
 * arguments and the same three-pass backward with no atomics). DH (the head size) and the tile
 * shape (tiles.ts, chosen from the adapter's workgroup-memory limit) are compile-time constants.
 * A workgroup owns ROWS rows of one (sequence b, head h) — queries in the forward and dq passes,
 * keys in the dK/dV pass — and streams the other side through workgroup memory in tiles of COLS
 * rows; scores and outputs are register tiles spread over its threads (tiles.ts), so no thread
 * holds a head-long array and no [L, L] tensor exists.
 *
 * - forward: online softmax over the allowed keys j ≤ i (key padding; the diagonal always
 *   allowed): per key tile, S = scale·Q·Kᵀ, the new row maxima m, P = exp(S − m)·mul(e_ij),
 *   l = l·exp(m_old − m) + Σ exp(S − m), O = O·exp(m_old − m) + P·V; out = O / l, lse = m + log l.
 *   Dropout acts on the probabilities (e_ij = ((b·H + h)·L + i)·L + j; four neighbouring keys
 *   share one Philox draw where L % 4 = 0).
 * - backward: delta_i = dO_i · out_i; then per key tile: dv_j = Σ_i p·mul·dO_i, dk_j = scale ·
 *   Σ_i dS_ij q_i; then per query tile: dq_i = scale · Σ_j dS_ij k_j, dS = p·(dP_ij − delta_i) with
 *   dP_ij = Σ_d dO_i,d·(mul·v_j,d), the same products the forward's out = Σ p·mul·v rounds: a query
 *   with one allowed key (p = 1) then gets dS = 0 exactly, as the tfjs engine does, instead of
 *   rounding noise that Adam's first step would turn into ±lr moves of q/k weights.
 * - left padding (SASRec's batches): the forward and dq passes start at the key tile of the
 *   sequence's first real key (or of the tile's first query, if earlier), and the dK/dV pass of a
 *   tile of padding keys visits only the diagonal's query tiles; the skipped tiles are masked
 *   throughout, so the numbers are those of the full loops (firstRealWGSL says why).
 * - storage: q, k, v, out, dOut, dq, dk, dv are `act_t` (f32, or f16 with 'shader-f16',
 *   actHeaderWGSL); lse, delta, workgroup tiles and every sum are f32. With f16 the forward's out
 *   is rounded, so delta = dO·round(out) no longer cancels dP for a query with one allowed key;
 *   the f16 backward kernels then set dS = 0 for such queries (i ≤ the sequence's first real key,
 *   {@link oneKeyWGSL}), the exact value that the f32 kernels reach by forming dP in delta's order.
 */
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { dropoutCoreWGSL, dropoutFields, dropoutSiteWGSL, unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';
import type { AttentionTiling } from './tiles.js';

const SHAPE: ParamField[] = [
  ['B', 'u32'],
  ['L', 'u32'],
  ['H', 'u32'],
  ['stride', 'u32'],
  ['pad', 'i32'],
  ['scale', 'f32'],
];

export const ATTN_FORWARD_BUFFERS: readonly Decl[] = [
  ['q', 'act_t', 'read'],
  ['k', 'act_t', 'read'],
  ['v', 'act_t', 'read'],
  ['ids', 'i32', 'read'],
  ['out', 'act_t', 'rw'],
  ['lse', 'f32', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const ATTN_DELTA_BUFFERS: readonly Decl[] = [
  ['out', 'act_t', 'read'],
  ['dOut', 'act_t', 'read'],
  ['delta', 'f32', 'rw'],
];
/** dK/dV pass; with `shared`, dv is written through the dk binding (dk and dv in one buffer). */
export const ATTN_DKV_BUFFERS: readonly Decl[] = [
  ['q', 'act_t', 'read'],
  ['k', 'act_t', 'read'],
  ['v', 'act_t', 'read'],
  ['ids', 'i32', 'read'],
  ['dOut', 'act_t', 'read'],
  ['lse', 'f32', 'read'],
  ['delta', 'f32', 'read'],
  ['dk', 'act_t', 'rw'],
  ['dv', 'act_t', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const ATTN_DQ_BUFFERS: readonly Decl[] = [
  ['q', 'act_t', 'read'],
  ['k', 'act_t', 'read'],
  ['v', 'act_t', 'read'],
  ['ids', 'i32', 'read'],
  ['dOut', 'act_t', 'read'],
  ['lse', 'f32', 'read'],
  ['delta', 'f32', 'read'],
  ['dq', 'act_t', 'rw'],
  ['step_ctr', 'u32', 'read'],
];

const fields = (decls: readonly Decl[], drop: boolean): ParamField[] => [
  ...SHAPE,
  ...offsetFields(decls),
  ...(drop ? dropoutFields('drop') : []),
];
export const ATTN_FORWARD_FIELDS = fields(ATTN_FORWARD_BUFFERS, true);
export const ATTN_DELTA_FIELDS = fields(ATTN_DELTA_BUFFERS, false);
export const ATTN_DKV_FIELDS = fields(ATTN_DKV_BUFFERS, true);
export const ATTN_DQ_FIELDS = fields(ATTN_DQ_BUFFERS, true);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The head of one kernel's module: the `enable`s and act_t alias (actHeaderWGSL: `act` storage,
 * `enables` such as ['subgroups']), params, bindings, dropout and the tile constants (without `t`:
 * no tile constants).
 */
export function attentionHead(
  f: readonly ParamField[],
  decls: readonly Decl[],
  dh: number,
  drop: boolean,
  act: WgslAct,
  t?: AttentionTiling,
  enables: readonly string[] = [],
): string {
  const tile = t
    ? `const ROWS: u32 = ${t.rows}u;
const COLS: u32 = ${t.cols}u;
const ROWSP: u32 = ${t.rowsP}u;
const PD: u32 = ${t.pd}u;
const NT: u32 = ${t.nt}u;
const TX: u32 = ${t.tx}u;
const TY: u32 = ${t.ty}u;
const RN: u32 = ${t.rn}u;
const OX: u32 = ${t.ox}u;
const OY: u32 = ${t.oy}u;
const NEG: f32 = -3.0e38;`
    : '';
  return `${actHeaderWGSL(act, enables)}${paramsStructWGSL(f)}
${storageWGSL(decls)}
${drop ? `${dropoutCoreWGSL}\n${dropoutSiteWGSL('drop')}` : ''}
${unitWGSL}
const DH: u32 = ${dh}u;
${tile}
`;
}

/** (b, h, first row r0) of the workgroup and the threads' tile coordinates; returns past the last (b, h). */
const TILE_OF = /* wgsl */ `
  let unit = unit_of(wid, nwg);
  let tiles = (P.L + ROWS - 1u) / ROWS;
  let bh = unit / tiles;
  if (bh >= P.B * P.H) { return; }
  let b = bh / P.H;
  let h = bh - b * P.H;
  let r0 = (unit - bh * tiles) * ROWS;
  let D = P.H * DH;
  let tx = lid % TX;
  let ty = lid / TX;
  let ox = lid % OX;
  let oy = lid / OX;
`;

/** Workgroup memory of {@link firstRealWGSL} (2 words: tiles.ts counts them). */
export const FIRST_REAL_DECLS = /* wgsl */ `var<workgroup> firstRealA: atomic<u32>;
var<workgroup> firstRealS: u32;`;

/**
 * WGSL declaring `let <name>`: the first key j in [lo, hi) of sequence b whose id is not padding, or
 * hi if none; uniform, so loop bounds made from it may enclose barriers (every invocation must
 * reach it; lo and hi uniform). Invocation lid scans j = lo + lid, lo + lid + nt, … and atomicMin's
 * its first hit (its smallest j). Every invocation then reads the minimum through
 * workgroupUniformLoad of a plain u32 (firstRealS), the form topk.wgsl.ts uses too.
 *
 * What the kernels skip with it, and why the numbers stay the same: a key j before both the
 * sequence's first real key and a query i (j < i) is padding and not i's diagonal, so i does not
 * attend it (reference.ts `allowed`); a padding key j is attended by query j only. A tile of keys
 * that no query of the workgroup attends has every score masked: in the forward the row maxima stay
 * max(m, NEG) = m, the rescale is exp(0) = 1 and p = 0, so l·1 + 0 = l and O·1 + 0·V = O; in the
 * backward p = dS = 0, adding ±0 to accumulators that are never −0 (they start at +0, and a
 * round-to-nearest sum is −0 only when both terms are). Skipping such a tile (or a row's iterations
 * over such keys, which `continue`d) leaves every bit of the state as it was, for finite inputs.
 */
export const firstRealWGSL = (name: string, lo: string, hi: string, nt: string) => /* wgsl */ `
  if (lid == 0u) { atomicStore(&firstRealA, ${hi}); }
  workgroupBarrier();
  for (var jf = ${lo} + lid; jf < ${hi}; jf += ${nt}) {
    if (ids[P.ids_o + b * P.L + jf] != P.pad) {
      atomicMin(&firstRealA, jf);
      break;
    }
  }
  workgroupBarrier();
  if (lid == 0u) { firstRealS = atomicLoad(&firstRealA); }
  let ${name} = workgroupUniformLoad(&firstRealS);`;

/**
 * The f16 kernels' `firstSeq` (first real key of sequence b in [0, hi), else hi; firstRealWGSL, so
 * in uniform control flow) and the condition under which query `i` has one allowed key, its own
 * (every key before it padding), so that its dS is exactly 0 (with {@link andManyKeys}): f32 storage reaches that zero from
 * dP = delta bit for bit; f16 rounding of out leaves noise there (the reference's dS is that noise,
 * ~2^-11 of p·|dO|·|v|), which Adam would turn into ±lr moves of the q and k weights where their
 * true gradient is 0. The f32 kernels are left as they were (empty WGSL, no condition).
 */
export const oneKeyWGSL = (act: WgslAct, hi: string, nt: string) =>
  act === 'f16'
    ? `\n  // Queries i ≤ firstSeq have one allowed key: dS = 0 (past ${hi}, a query attends no key of this tile unless one is real).${firstRealWGSL('firstSeq', '0u', hi, nt)}`
    : '';
/** ` && <query i has more than its own key>` for f16 (see {@link oneKeyWGSL}); nothing for f32. */
export const andManyKeys = (act: WgslAct, i: string) => (act === 'f16' ? ` && ${i} > firstSeq` : '');

/** Loads a thread issues before storing them (so they are in flight together; a loop of load-then-store waits on each). */
const LOAD_BATCH = 8;

/**
 * Copies ROWSP or COLS rows (from row `first` of sequence b, head h) of a global tensor into
 * `dst` [rows, PD], zeros past L and DH, LOAD_BATCH loads per thread at a time.
 */
function loadRows(
  t: AttentionTiling,
  dst: string,
  n: 'ROWSP' | 'COLS',
  src: string,
  offset: string,
  rowStride: string,
  first: string,
): string {
  const count = (n === 'ROWSP' ? t.rowsP : t.cols) * t.pd;
  const u = Math.min(LOAD_BATCH, Math.ceil(count / t.nt));
  const at = (k: number) => `x0 + ${k * t.nt}u`;
  const loads = range(u).map(
    (k) => `{
        let x = ${at(k)};
        let rr = x / PD;
        let d = x - rr * PD;
        let g = ${first} + rr;
        if (x < ${count}u && g < P.L && d < DH) { lv[${k}] = f32(${src}[${offset} + (b * P.L + g) * ${rowStride} + h * DH + d]); }
      }`,
  );
  const stores = range(u).map((k) => `if (${at(k)} < ${count}u) { ${dst}[${at(k)}] = lv[${k}]; }`);
  return `  for (var x0 = lid; x0 < ${count}u; x0 += ${u * t.nt}u) {
      var lv = array<f32, ${u}>();
      ${loads.join('\n      ')}
      ${stores.join('\n      ')}
  }`;
}

/** `body(e, a, c)` for each element of the thread's score tile (row ty + a·TY, column tx·RN + c). */
const eachScore = (t: AttentionTiling, body: (e: number, a: number, c: number) => string) =>
  range(t.rm)
    .flatMap((a) => range(t.rn).map((c) => body(a * t.rn + c, a, c)))
    .join('\n');

/** A product over the head size: acc[e] += row·col, or with `mu` on one side, other·(mu[e]·side). */
interface ScoreProduct {
  acc: string;
  row: string;
  col: string;
  mu?: 'row' | 'col';
}

/** The score tiles' loop over d: each thread's rows of the row-side array against its columns of the column side. */
function scoreLoop(t: AttentionTiling, prods: readonly ScoreProduct[]): string {
  const loads = prods.flatMap((p) => [
    ...range(t.rm).map((a) => `let ${p.row}${a} = ${p.row}[(ty + ${a}u * TY) * PD + d];`),
    ...range(t.rn).map((c) => `let ${p.col}${c} = ${p.col}[(tx * RN + ${c}u) * PD + d];`),
  ]);
  const fmas = prods.flatMap((p) =>
    range(t.rm).flatMap((a) =>
      range(t.rn).map((c) => {
        const e = a * t.rn + c;
        const term =
          p.mu === 'col'
            ? `${p.row}${a} * (mu[${e}] * ${p.col}${c})`
            : p.mu === 'row'
              ? `${p.col}${c} * (mu[${e}] * ${p.row}${a})`
              : `${p.row}${a} * ${p.col}${c}`;
        return `${p.acc}[${e}] += ${term};`;
      }),
    ),
  );
  return `for (var d = 0u; d < DH; d++) {\n    ${[...loads, ...fmas].join('\n    ')}\n  }`;
}

/** The output tiles' loop over the streamed rows: acc[a, d] += m[row, c]·x[c, column]. */
function outputLoop(t: AttentionTiling, prods: readonly { acc: string; m: string; x: string }[]): string {
  const lines = prods.flatMap((p) => [
    ...range(t.om).map((a) => `let ${p.m}${a} = ${p.m}[(oy + ${a}u * OY) * COLS + c];`),
    ...range(t.od).map((d) => `let ${p.x}${d} = ${p.x}[c * PD + ox + ${d}u * OX];`),
    ...range(t.om).flatMap((a) =>
      range(t.od).map((d) => `${p.acc}[${a * t.od + d}] += ${p.m}${a} * ${p.x}${d};`),
    ),
  ]);
  return `for (var c = 0u; c < COLS; c++) {\n    ${lines.join('\n    ')}\n  }`;
}

/** `body(e, r, d)` (WGSL expressions of the row and head column) for each element of the thread's output tile. */
const eachOutput = (t: AttentionTiling, body: (e: number, r: string, d: string) => string) =>
  range(t.om)
    .flatMap((a) => range(t.od).map((d) => body(a * t.od + d, `(oy + ${a}u * OY)`, `(ox + ${d}u * OX)`)))
    .join('\n  ');

/**
 * mu[e] = drop_mul(element) for each allowed element of the score tile, as a loop (one Philox
 * call site: unrolled, the draws would make the shader many times larger to compile).
 */
const dropLoop = (t: AttentionTiling, element: string) => `      for (var e = 0u; e < ${t.rm * t.rn}u; e++) {
        if ((okm & (1u << e)) != 0u) {
          let a = e / RN;
          let c = e - a * RN;
          mu[e] = drop_mul(${element});
        }
      }`;

/** ok[e] of the query-row kernels: query i = r0 + row, key j = j0 + column allowed (j ≤ i, key not padding or the diagonal). */
const queryRowMask = (t: AttentionTiling) =>
  eachScore(
    t,
    (e, a, c) => `  {
    let r = ty + ${a}u * TY;
    let i = r0 + r;
    let cc = tx * RN + ${c}u;
    let j = j0 + cc;
    if (r < ROWS && i < P.L && j <= i && (j == i || kpad[cc] == 0u)) { okm |= ${1 << e}u; }
  }`,
  );

/** mu[e] = the dropout multiplier of the query-row kernels' elements (one Philox draw per four keys where it can). */
const queryRowDrop = (t: AttentionTiling) => {
  const perElement = dropLoop(t, '(bh * P.L + r0 + ty + a * TY) * P.L + j0 + tx * RN + c');
  const grouped =
    t.rn === 4
      ? `if ((P.L & 3u) == 0u) {
      ${range(t.rm)
        .map(
          (a) => `{
        let i = r0 + ty + ${a}u * TY;
        if (i < P.L) {
          let m4 = drop_mul4(((bh * P.L + i) * P.L + j0 + tx * 4u) >> 2u);
          ${range(4)
            .map((c) => `mu[${a * 4 + c}] = m4[${c}];`)
            .join(' ')}
        }
      }`,
        )
        .join('\n      ')}
    } else {
${perElement}
    }`
      : perElement;
  return `var mu = array<f32, ${t.rm * t.rn}>();
    if (P.drop_on == 0u) {
      ${range(t.rm * t.rn)
        .map((e) => `mu[${e}] = 1.0;`)
        .join(' ')}
    } else {
    ${grouped}
    }`;
};

/**
 * jStart of the query-row kernels: keys before min(r0, first real key) are attended by no query of
 * the tile (firstRealWGSL, which scans [0, r0)). Rounded down to a multiple of COLS, j0 stays
 * aligned as when the loop started at 0 (the four-key dropout draws need j0 % 4 = 0) and ≤ r0 when
 * r0 is not a multiple of COLS (ROWS < COLS), so the diagonal's tile is always visited.
 */
const KEY_START = /* wgsl */ `  let jStart = firstReal / COLS * COLS;`;

export function attentionForwardWGSL(dh: number, t: AttentionTiling, act: WgslAct = 'f32'): string {
  const S = t.rm * t.rn;
  const O = t.om * t.od;
  return /* wgsl */ `${attentionHead(ATTN_FORWARD_FIELDS, ATTN_FORWARD_BUFFERS, dh, true, act, t)}
var<workgroup> Qs: array<f32, ${t.rowsP * t.pd}>;
var<workgroup> KVs: array<f32, ${t.cols * t.pd}>;
var<workgroup> Ss: array<f32, ${t.rowsP * t.cols}>;
var<workgroup> lpart: array<f32, ${t.rowsP * t.tx}>;
var<workgroup> mS: array<f32, ${t.rowsP}>;
var<workgroup> cS: array<f32, ${t.rowsP}>;
var<workgroup> lS: array<f32, ${t.rowsP}>;
var<workgroup> kpad: array<u32, ${t.cols}>;
${FIRST_REAL_DECLS}

@compute @workgroup_size(${t.nt})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${TILE_OF}
${loadRows(t, 'Qs', 'ROWSP', 'q', 'P.q_o', 'P.stride', 'r0')}
  for (var x = lid; x < ROWSP; x += NT) { mS[x] = NEG; lS[x] = 0.0; }
  var acc = array<f32, ${O}>();
  let jEnd = min(P.L, r0 + ROWS);
${firstRealWGSL('firstReal', '0u', 'r0', 'NT')}
${KEY_START}
  for (var j0 = jStart; j0 < jEnd; j0 += COLS) {
${loadRows(t, 'KVs', 'COLS', 'k', 'P.k_o', 'P.stride', 'j0')}
    for (var x = lid; x < COLS; x += NT) {
      let j = j0 + x;
      kpad[x] = select(0u, 1u, j < P.L && ids[P.ids_o + b * P.L + j] == P.pad);
    }
    workgroupBarrier();
    var s = array<f32, ${S}>();
    ${scoreLoop(t, [{ acc: 's', row: 'Qs', col: 'KVs' }])}
    var okm = 0u;
${queryRowMask(t)}
${eachScore(t, (e, a, c) => `    s[${e}] = select(NEG, s[${e}] * P.scale, (okm & ${1 << e}u) != 0u); Ss[(ty + ${a}u * TY) * COLS + tx * RN + ${c}u] = s[${e}];`)}
    workgroupBarrier();
    for (var r = lid; r < ROWS; r += NT) {
      var mx = NEG;
      for (var c = 0u; c < COLS; c++) { mx = max(mx, Ss[r * COLS + c]); }
      let mo = mS[r];
      let mn = max(mo, mx);
      cS[r] = exp(mo - mn);
      mS[r] = mn;
    }
${loadRows(t, 'KVs', 'COLS', 'v', 'P.v_o', 'P.stride', 'j0')}
    workgroupBarrier();
    ${queryRowDrop(t)}
${range(t.rm)
  .map(
    (a) => `    {
      let r = ty + ${a}u * TY;
      let m = mS[r];
      var part = 0.0;
${range(t.rn)
  .map((c) => {
    const e = a * t.rn + c;
    return `      {
        let p = select(0.0, exp(s[${e}] - m), (okm & ${1 << e}u) != 0u);
        part += p;
        Ss[r * COLS + tx * RN + ${c}u] = p * mu[${e}];
      }`;
  })
  .join('\n')}
      lpart[r * TX + tx] = part;
    }`,
  )
  .join('\n')}
    workgroupBarrier();
    for (var r = lid; r < ROWS; r += NT) {
      var part = 0.0;
      for (var x = 0u; x < TX; x++) { part += lpart[r * TX + x]; }
      lS[r] = lS[r] * cS[r] + part;
    }
    ${eachOutput(t, (e, r) => `acc[${e}] *= cS[${r}];`)}
    ${outputLoop(t, [{ acc: 'acc', m: 'Ss', x: 'KVs' }])}
    workgroupBarrier();
  }
  for (var r = lid; r < ROWS; r += NT) {
    if (r0 + r < P.L) { lse[P.lse_o + bh * P.L + r0 + r] = mS[r] + log(lS[r]); }
  }
  ${eachOutput(
    t,
    (e, r, d) => `{
    let i = r0 + ${r};
    if (${r} < ROWS && i < P.L && ${d} < DH) { out[P.out_o + (b * P.L + i) * D + h * DH + ${d}] = act_t(acc[${e}] * (1.0 / lS[${r}])); }
  }`,
  )}
}
`;
}
export function attentionDeltaWGSL(dh: number, act: WgslAct = 'f32'): string {
  return /* wgsl */ `${attentionHead(ATTN_DELTA_FIELDS, ATTN_DELTA_BUFFERS, dh, false, act)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = unit_of(wid, nwg) * 64u + lid;
  if (row >= P.B * P.H * P.L) { return; }
  let bh = row / P.L;
  let i = row - bh * P.L;
  let b = bh / P.H;
  let h = bh - b * P.H;
  let o = (b * P.L + i) * P.H * DH + h * DH;
  var s = 0.0;
  for (var d = 0u; d < DH; d++) { s += f32(dOut[P.dOut_o + o + d]) * f32(out[P.out_o + o + d]); }
  delta[P.delta_o + row] = s;
}
`;
}

export function attentionDqWGSL(dh: number, t: AttentionTiling, act: WgslAct = 'f32'): string {
  const S = t.rm * t.rn;
  return /* wgsl */ `${attentionHead(ATTN_DQ_FIELDS, ATTN_DQ_BUFFERS, dh, true, act, t)}
var<workgroup> Qs: array<f32, ${t.rowsP * t.pd}>;
var<workgroup> Gs: array<f32, ${t.rowsP * t.pd}>;
var<workgroup> KVs: array<f32, ${t.cols * t.pd}>;
var<workgroup> Ds: array<f32, ${t.rowsP * t.cols}>;
var<workgroup> lseS: array<f32, ${t.rowsP}>;
var<workgroup> deltaS: array<f32, ${t.rowsP}>;
var<workgroup> kpad: array<u32, ${t.cols}>;
${FIRST_REAL_DECLS}

@compute @workgroup_size(${t.nt})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${TILE_OF}
${loadRows(t, 'Qs', 'ROWSP', 'q', 'P.q_o', 'P.stride', 'r0')}
${loadRows(t, 'Gs', 'ROWSP', 'dOut', 'P.dOut_o', 'D', 'r0')}
  for (var r = lid; r < ROWSP; r += NT) {
    let i = r0 + r;
    var a = 0.0;
    var c = 0.0;
    if (r < ROWS && i < P.L) {
      a = lse[P.lse_o + bh * P.L + i];
      c = delta[P.delta_o + bh * P.L + i];
    }
    lseS[r] = a;
    deltaS[r] = c;
  }
  var acc = array<f32, ${t.om * t.od}>();
  let jEnd = min(P.L, r0 + ROWS);
${
  act === 'f16'
    ? `${firstRealWGSL('firstSeq', '0u', 'jEnd', 'NT')}
  // Queries i ≤ firstSeq have one allowed key: dS = 0 (oneKeyWGSL). firstReal: the first real key of [0, r0), else r0.
  let firstReal = min(firstSeq, r0);`
    : firstRealWGSL('firstReal', '0u', 'r0', 'NT')
}
${KEY_START}
  for (var j0 = jStart; j0 < jEnd; j0 += COLS) {
${loadRows(t, 'KVs', 'COLS', 'v', 'P.v_o', 'P.stride', 'j0')}
    for (var x = lid; x < COLS; x += NT) {
      let j = j0 + x;
      kpad[x] = select(0u, 1u, j < P.L && ids[P.ids_o + b * P.L + j] == P.pad);
    }
    workgroupBarrier();
    var okm = 0u;
${queryRowMask(t)}
    ${queryRowDrop(t)}
    var dp = array<f32, ${S}>();
    ${scoreLoop(t, [{ acc: 'dp', row: 'Gs', col: 'KVs', mu: 'col' }])}
    workgroupBarrier();
${loadRows(t, 'KVs', 'COLS', 'k', 'P.k_o', 'P.stride', 'j0')}
    workgroupBarrier();
    var s = array<f32, ${S}>();
    ${scoreLoop(t, [{ acc: 's', row: 'Qs', col: 'KVs' }])}
${eachScore(
  t,
  (e, a, c) => `    {
      let r = ty + ${a}u * TY;
      let p = exp(P.scale * s[${e}] - lseS[r]);
      let ds = p * (dp[${e}] - deltaS[r]);
      Ds[r * COLS + tx * RN + ${c}u] = select(0.0, P.scale * ds, (okm & ${1 << e}u) != 0u${andManyKeys(act, 'r0 + r')});
    }`,
)}
    workgroupBarrier();
    ${outputLoop(t, [{ acc: 'acc', m: 'Ds', x: 'KVs' }])}
    workgroupBarrier();
  }
  ${eachOutput(
    t,
    (e, r, d) => `{
    let i = r0 + ${r};
    if (${r} < ROWS && i < P.L && ${d} < DH) { dq[P.dq_o + (b * P.L + i) * P.stride + h * DH + ${d}] = act_t(acc[${e}]); }
  }`,
  )}
}
`;
}

export function attentionDkvWGSL(
  dh: number,
  shared: boolean,
  t: AttentionTiling,
  act: WgslAct = 'f32',
): string {
  const S = t.rm * t.rn;
  const O = t.om * t.od;
  const dv = shared ? 'dk' : 'dv';
  return /* wgsl */ `${attentionHead(ATTN_DKV_FIELDS, ATTN_DKV_BUFFERS, dh, true, act, t)}
var<workgroup> Ks: array<f32, ${t.rowsP * t.pd}>;
var<workgroup> Vs: array<f32, ${t.rowsP * t.pd}>;
var<workgroup> Qs: array<f32, ${t.cols * t.pd}>;
var<workgroup> Gs: array<f32, ${t.cols * t.pd}>;
var<workgroup> Ps: array<f32, ${t.rowsP * t.cols}>;
var<workgroup> Ds: array<f32, ${t.rowsP * t.cols}>;
var<workgroup> lseS: array<f32, ${t.cols}>;
var<workgroup> deltaS: array<f32, ${t.cols}>;
var<workgroup> kpadS: array<u32, ${t.rowsP}>;
${FIRST_REAL_DECLS}

@compute @workgroup_size(${t.nt})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${TILE_OF}
${loadRows(t, 'Ks', 'ROWSP', 'k', 'P.k_o', 'P.stride', 'r0')}
${loadRows(t, 'Vs', 'ROWSP', 'v', 'P.v_o', 'P.stride', 'r0')}
  for (var r = lid; r < ROWSP; r += NT) {
    let j = r0 + r;
    kpadS[r] = select(0u, 1u, j < P.L && ids[P.ids_o + b * P.L + j] == P.pad);
  }
  var ak = array<f32, ${O}>();
  var av = array<f32, ${O}>();
  // Keys all padding (firstReal = kEnd): each is attended by its own query only, so stop at kEnd.
  let kEnd = min(P.L, r0 + ROWS);
${firstRealWGSL('firstReal', 'r0', 'kEnd', 'NT')}
  let iEnd = select(kEnd, P.L, firstReal < kEnd);${oneKeyWGSL(act, 'kEnd', 'NT')}
  for (var i0 = r0; i0 < iEnd; i0 += COLS) {
${loadRows(t, 'Qs', 'COLS', 'q', 'P.q_o', 'P.stride', 'i0')}
${loadRows(t, 'Gs', 'COLS', 'dOut', 'P.dOut_o', 'D', 'i0')}
    for (var x = lid; x < COLS; x += NT) {
      let i = i0 + x;
      var a = 0.0;
      var c = 0.0;
      if (i < P.L) {
        a = lse[P.lse_o + bh * P.L + i];
        c = delta[P.delta_o + bh * P.L + i];
      }
      lseS[x] = a;
      deltaS[x] = c;
    }
    workgroupBarrier();
    var okm = 0u;
    var mu = array<f32, ${S}>();
${eachScore(
  t,
  (e, a, c) => `    {
      let r = ty + ${a}u * TY;
      let j = r0 + r;
      let i = i0 + tx * RN + ${c}u;
      if (r < ROWS && i < P.L && i >= j && (i == j || kpadS[r] == 0u)) { okm |= ${1 << e}u; }
    }`,
)}
${dropLoop(t, '(bh * P.L + i0 + tx * RN + c) * P.L + r0 + ty + a * TY')}
    var s = array<f32, ${S}>();
    var dp = array<f32, ${S}>();
    ${scoreLoop(t, [
      { acc: 's', row: 'Ks', col: 'Qs' },
      { acc: 'dp', row: 'Vs', col: 'Gs', mu: 'row' },
    ])}
${eachScore(
  t,
  (e, a, c) => `    {
      let r = ty + ${a}u * TY;
      let cc = tx * RN + ${c}u;
      let ok = (okm & ${1 << e}u) != 0u;
      let p = exp(P.scale * s[${e}] - lseS[cc]);
      let ds = p * (dp[${e}] - deltaS[cc]);
      Ps[r * COLS + cc] = select(0.0, p * mu[${e}], ok);
      Ds[r * COLS + cc] = select(0.0, P.scale * ds, ok${andManyKeys(act, 'i0 + cc')});
    }`,
)}
    workgroupBarrier();
    ${outputLoop(t, [
      { acc: 'av', m: 'Ps', x: 'Gs' },
      { acc: 'ak', m: 'Ds', x: 'Qs' },
    ])}
    workgroupBarrier();
  }
  ${eachOutput(
    t,
    (e, r, d) => `{
    let j = r0 + ${r};
    if (${r} < ROWS && j < P.L && ${d} < DH) {
      let o = (b * P.L + j) * P.stride + h * DH + ${d};
      dk[P.dk_o + o] = act_t(ak[${e}]);
      ${dv}[P.dv_o + o] = act_t(av[${e}]);
    }
  }`,
  )}
}
`;
}
