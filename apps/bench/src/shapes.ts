/** The benchmark shapes: the paper's four named (N, C, D, K), small CI shapes, and `--shape N,C,D,K` parsing. */

/** One loss problem: N rows, a catalog of C items, hidden size D, K negatives per row. */
export interface LossShape {
  /** A display name ('beauty', 'quick-a', or 'N,C,D,K' for a custom shape). */
  name: string;
  N: number;
  C: number;
  D: number;
  K: number;
}

/** issue 4's shapes, with the published Triton CCE- kernel on an H200 (fp16, forward+backward). */
export const NAMED_SHAPES: readonly (LossShape & { tritonMs: number; tritonMiB: number })[] = [
  { name: 'beauty', N: 32768, C: 152043, D: 256, K: 511, tritonMs: 18.3, tritonMiB: 256 },
  { name: 'ml20m', N: 131072, C: 15405, D: 256, K: 511, tritonMs: 57.6, tritonMiB: 1025 },
  { name: 'gowalla', N: 327680, C: 300000, D: 256, K: 511, tritonMs: 185, tritonMiB: 2561 },
  { name: 'zvuk', N: 131072, C: 893022, D: 256, K: 2047, tritonMs: 304, tritonMiB: 4097 },
];

/** Small shapes for `--quick` (seconds on a software GPU; N not a multiple of 64 in one of them). */
export const QUICK_SHAPES: readonly LossShape[] = [
  { name: 'quick-a', N: 200, C: 500, D: 32, K: 15 },
  { name: 'quick-b', N: 256, C: 2000, D: 32, K: 63 },
];

/** Parses `N,C,D,K` (positive integers; thousands separators `_` allowed) into a shape. */
export function parseShape(text: string): LossShape {
  const parts = text.split(',').map((p) => p.trim().replace(/_/g, ''));
  if (parts.length !== 4) {
    throw new RangeError(`--shape must be N,C,D,K (four positive integers), got ${JSON.stringify(text)}`);
  }
  const [N, C, D, K] = parts.map((p, i) => {
    const v = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(
        `--shape ${'NCDK'[i]} must be a positive integer, got ${JSON.stringify(p)} in ${JSON.stringify(text)}`,
      );
    }
    return v;
  }) as [number, number, number, number];
  return { name: `${N},${C},${D},${K}`, N, C, D, K };
}

/** A named shape ('beauty', 'quick-a', …) or `N,C,D,K`. */
export function shapeByName(name: string): LossShape {
  const s = [...NAMED_SHAPES, ...QUICK_SHAPES].find((x) => x.name === name);
  if (s) return { name: s.name, N: s.N, C: s.C, D: s.D, K: s.K };
  if (name.includes(',')) return parseShape(name);
  throw new RangeError(
    `unknown shape ${JSON.stringify(name)}: use one of ${[...NAMED_SHAPES, ...QUICK_SHAPES]
      .map((x) => x.name)
      .join(', ')} or N,C,D,K`,
  );
}

/** Each shape, and a copy of it for every K in `ks` and every C in `cs` (the sweeps behind the plots). */
export function expandSweeps(
  shapes: readonly LossShape[],
  ks: readonly number[],
  cs: readonly number[],
): LossShape[] {
  const out: LossShape[] = [];
  const seen = new Set<string>();
  const add = (s: LossShape) => {
    const key = `${s.N},${s.C},${s.D},${s.K}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(s);
    }
  };
  for (const s of shapes) {
    add(s);
    for (const K of ks) add({ ...s, name: `${s.name} K=${K}`, K });
    for (const C of cs) add({ ...s, name: `${s.name} C=${C}`, C });
  }
  return out;
}

/** Parses a comma-separated list of positive integers for the option `name`. */
export function parseIntList(name: string, text: string | undefined): number[] {
  if (text === undefined || text === '') return [];
  return text.split(',').map((p) => {
    const v = Number(p.trim().replace(/_/g, ''));
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(
        `${name} must be a comma-separated list of positive integers, got ${JSON.stringify(text)}`,
      );
    }
    return v;
  });
}

/** A whole-step benchmark configuration (SASRec, 2 blocks, 2 heads), as in ../shared/anchors/sasrec_step_torch.py. */
export interface StepConfig {
  name: string;
  C: number;
  D: number;
  B: number;
  L: number;
  K: number;
  /** PyTorch eager on an H200 (2026-12-01): shared-negative CE and the paper's Triton CCE- step, ms and GiB. */
  torch: { sharedMs: number; sharedGiB: number; tritonMs: number; tritonGiB: number };
}

/** The three step configurations of the fused-engine targets. */
export const STEP_CONFIGS: readonly StepConfig[] = [
  {
    name: 'beauty-d64',
    C: 152043,
    D: 64,
    B: 256,
    L: 50,
    K: 256,
    torch: { sharedMs: 7.7, sharedGiB: 0.3, tritonMs: 8.87, tritonGiB: 0.32 },
  },
  {
    name: 'ml20m',
    C: 15405,
    D: 256,
    B: 256,
    L: 512,
    K: 511,
    torch: { sharedMs: 18.2, sharedGiB: 3.1, tritonMs: 56.8, tritonGiB: 2.9 },
  },
  {
    name: 'beauty',
    C: 152043,
    D: 256,
    B: 1024,
    L: 32,
    K: 511,
    torch: { sharedMs: 8.1, sharedGiB: 0, tritonMs: 19.9, tritonGiB: 0 },
  },
];

/** The step configuration called `name`; throws listing the known ones. */
export function stepConfigByName(name: string): StepConfig {
  const c = STEP_CONFIGS.find((x) => x.name === name);
  if (!c)
    throw new RangeError(
      `--config must be one of ${STEP_CONFIGS.map((x) => x.name).join(', ')}, got ${JSON.stringify(name)}`,
    );
  return c;
}
