import type { AliasTable, SamplerKind, Share } from '@cutrec/sampler';
import type { CceImpl, CceOptions, ResolvedCceOptions } from './options.js';
import { hasImplementation } from './registry.js';

/** The sizes `resolveOptions` checks options against: N rows, C items, D features. */
export interface CceShapes {
  N: number;
  C: number;
  D: number;
}

const SHARES: readonly Share[] = ['row', 'block', 'batch'];
const REDUCTIONS = ['mean', 'sum', 'none'] as const;
const IMPLS: readonly CceImpl[] = ['auto', 'reference', 'tfjs', 'wgsl', 'cuda'];
const SAMPLERS: readonly SamplerKind[] = ['uniform', 'popularity', 'inBatch'];
const KNOWN_OPTIONS = new Set([
  'negatives',
  'share',
  'blockRows',
  'sampler',
  'seed',
  'step',
  'logQ',
  'removeAccidentalHits',
  'ignoreIndex',
  'reduction',
  'impl',
  'chunkSize',
  'checkInputs',
]);

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new RangeError(
      `cceLoss: options.${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

function integerAtLeast(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`cceLoss: options.${name} must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

function bool(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`cceLoss: options.${name} must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Fills in the defaults of `cceLoss`'s options and checks them against the shapes and the active
 * tfjs backend name; returns what implementations receive. Throws naming the option and its limit.
 */
export function resolveOptions(
  options: CceOptions | undefined,
  shapes: CceShapes,
  backend: string,
): ResolvedCceOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) {
    throw new TypeError(`cceLoss: options must be an object, got ${JSON.stringify(o)}`);
  }
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new RangeError(`cceLoss: unknown option '${key}' (known: ${[...KNOWN_OPTIONS].join(', ')})`);
    }
  }

  const negatives =
    o.negatives === undefined || o.negatives === 'all'
      ? 'all'
      : integerAtLeast('negatives (K)', o.negatives, 1, 0x7fffffff);
  const share = oneOf('share', o.share ?? 'row', SHARES);
  const blockRows = integerAtLeast('blockRows', o.blockRows ?? 64, 1, 0xffffffff);

  let sampler: SamplerKind;
  let aliasTable: AliasTable | undefined;
  const s = o.sampler ?? 'uniform';
  if (typeof s === 'object' && s !== null) {
    if (s.kind !== 'popularity' || typeof s.table !== 'object' || s.table === null) {
      throw new TypeError(
        "cceLoss: options.sampler must be 'uniform', 'inBatch', or { kind: 'popularity', table } with an alias table",
      );
    }
    sampler = 'popularity';
    aliasTable = s.table;
    if (aliasTable.numItems !== shapes.C) {
      throw new RangeError(
        `cceLoss: options.sampler.table covers ${aliasTable.numItems} items but items has C = ${shapes.C} rows`,
      );
    }
  } else {
    sampler = oneOf('sampler', s, SAMPLERS);
    if (sampler === 'popularity') {
      throw new TypeError(
        "cceLoss: options.sampler 'popularity' needs its alias table: pass { kind: 'popularity', table: buildAliasTable(counts) }",
      );
    }
  }

  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 53) {
    throw new RangeError(`cceLoss: options.seed must be an integer in [0, 2^53), got ${String(seed)}`);
  }
  const step = integerAtLeast('step', o.step ?? 0, 0, 0xffffffff);
  const logQ = bool('logQ', o.logQ ?? true);
  const removeAccidentalHits = bool('removeAccidentalHits', o.removeAccidentalHits ?? true);
  const ignoreIndex = o.ignoreIndex ?? -1;
  if (
    typeof ignoreIndex !== 'number' ||
    !Number.isInteger(ignoreIndex) ||
    Math.abs(ignoreIndex) > 0x7fffffff
  ) {
    throw new RangeError(`cceLoss: options.ignoreIndex must be an int32 integer, got ${String(ignoreIndex)}`);
  }
  const reduction = oneOf('reduction', o.reduction ?? 'mean', REDUCTIONS);
  const chunkSize = o.chunkSize === undefined ? undefined : integerAtLeast('chunkSize', o.chunkSize, 1);
  const checkInputs = bool('checkInputs', o.checkInputs ?? backend !== 'webgpu');
  if (checkInputs && backend === 'webgpu') {
    throw new RangeError(
      "cceLoss: options.checkInputs needs synchronous reads, which the 'webgpu' backend lacks; " +
        'call `await checkCceInputs(hidden, items, targets, options)` before the step instead',
    );
  }

  const requested = oneOf('impl', o.impl ?? 'auto', IMPLS);
  let impl: Exclude<CceImpl, 'auto'>;
  if (requested === 'auto') {
    impl = backend === 'webgpu' && hasImplementation('wgsl') ? 'wgsl' : 'tfjs';
  } else {
    impl = requested;
    if (impl === 'wgsl' && backend !== 'webgpu') {
      throw new RangeError(
        `cceLoss: options.impl 'wgsl' needs the 'webgpu' tfjs backend (active: '${backend}'); call setupTfjs({ backend: 'webgpu' }) first`,
      );
    }
    if (!hasImplementation(impl)) {
      throw new RangeError(
        `cceLoss: options.impl '${impl}' is not available in this build (registered: ${registeredList()})`,
      );
    }
  }

  return {
    negatives,
    share,
    blockRows,
    sampler,
    aliasTable,
    seed,
    step,
    logQ,
    removeAccidentalHits,
    ignoreIndex,
    reduction,
    impl,
    chunkSize,
    checkInputs,
  };
}

function registeredList(): string {
  return IMPLS.filter((n) => n !== 'auto' && hasImplementation(n)).join(', ');
}
