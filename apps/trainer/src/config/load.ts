/** Resolving a training configuration: a YAML/JSON file, then command-line flags over it, validated by the schema. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { QUICK_PRESET } from './preset.js';
import { configSchema, type TrainConfig } from './schema.js';

/** A configuration error: names the field (or flag), what is allowed, and what was given. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** How a flag maps onto a config field, and how its text becomes a value. */
interface FlagSpec {
  path: string;
  type: 'number' | 'string' | 'boolean' | 'numbers';
  /** A boolean flag that sets its field to false (--keep-seen → eval.removeSeen false). */
  negate?: boolean;
}

/** Every `cutrec train` flag that sets a config field (flag name as commander's camelCase key → spec). */
export const FLAG_FIELDS: Record<string, FlagSpec & { flag: string }> = {
  data: { flag: '--data', path: 'dataset.path', type: 'string' },
  format: { flag: '--format', path: 'dataset.format', type: 'string' },
  userCol: { flag: '--user-col', path: 'dataset.columns.user', type: 'string' },
  itemCol: { flag: '--item-col', path: 'dataset.columns.item', type: 'string' },
  timeCol: { flag: '--time-col', path: 'dataset.columns.timestamp', type: 'string' },
  ratingCol: { flag: '--rating-col', path: 'dataset.columns.rating', type: 'string' },
  delimiter: { flag: '--delimiter', path: 'dataset.delimiter', type: 'string' },
  ratingThreshold: { flag: '--rating-threshold', path: 'dataset.ratingThreshold', type: 'number' },
  minUserCount: { flag: '--min-user-count', path: 'dataset.minUserCount', type: 'number' },
  minItemCount: { flag: '--min-item-count', path: 'dataset.minItemCount', type: 'number' },
  synthUsers: { flag: '--synth-users', path: 'dataset.synthetic.numUsers', type: 'number' },
  synthItems: { flag: '--synth-items', path: 'dataset.synthetic.numItems', type: 'number' },
  synthGroups: { flag: '--synth-groups', path: 'dataset.synthetic.numGroups', type: 'number' },
  synthMinLength: { flag: '--synth-min-length', path: 'dataset.synthetic.minLength', type: 'number' },
  synthMaxLength: { flag: '--synth-max-length', path: 'dataset.synthetic.maxLength', type: 'number' },
  synthNoise: { flag: '--synth-noise', path: 'dataset.synthetic.noise', type: 'number' },
  synthSeed: { flag: '--synth-seed', path: 'dataset.synthetic.seed', type: 'number' },
  split: { flag: '--split', path: 'split.kind', type: 'string' },
  splitThreshold: { flag: '--split-threshold', path: 'split.threshold', type: 'number' },
  blocks: { flag: '--blocks', path: 'model.numBlocks', type: 'number' },
  heads: { flag: '--heads', path: 'model.numHeads', type: 'number' },
  hidden: { flag: '--hidden', path: 'model.hidden', type: 'number' },
  dropout: { flag: '--dropout', path: 'model.dropout', type: 'number' },
  maxLen: { flag: '--max-len', path: 'model.maxLen', type: 'number' },
  norm: { flag: '--norm', path: 'model.norm', type: 'string' },
  loss: { flag: '--loss', path: 'loss.kind', type: 'string' },
  negatives: { flag: '--negatives', path: 'loss.negatives', type: 'number' },
  share: { flag: '--share', path: 'loss.share', type: 'string' },
  blockRows: { flag: '--block-rows', path: 'loss.blockRows', type: 'number' },
  sampler: { flag: '--sampler', path: 'loss.sampler', type: 'string' },
  logq: { flag: '--no-logq', path: 'loss.logQ', type: 'boolean' },
  gbceT: { flag: '--gbce-t', path: 'loss.t', type: 'number' },
  impl: { flag: '--impl', path: 'loss.impl', type: 'string' },
  lr: { flag: '--lr', path: 'optimizer.lr', type: 'number' },
  weightDecay: { flag: '--weight-decay', path: 'optimizer.weightDecay', type: 'number' },
  schedule: { flag: '--schedule', path: 'optimizer.schedule.kind', type: 'string' },
  warmup: { flag: '--warmup', path: 'optimizer.schedule.warmupSteps', type: 'number' },
  batchSize: { flag: '--batch-size', path: 'train.batchSize', type: 'number' },
  epochs: { flag: '--epochs', path: 'train.epochs', type: 'number' },
  seed: { flag: '--seed', path: 'train.seed', type: 'number' },
  patience: { flag: '--patience', path: 'train.patience', type: 'number' },
  metric: { flag: '--metric', path: 'train.metric', type: 'string' },
  validation: { flag: '--no-validation', path: 'train.validation', type: 'boolean' },
  ks: { flag: '--ks', path: 'eval.ks', type: 'numbers' },
  removeSeen: { flag: '--remove-seen', path: 'eval.removeSeen', type: 'boolean' },
  keepSeen: { flag: '--keep-seen', path: 'eval.removeSeen', type: 'boolean', negate: true },
  backend: { flag: '--backend', path: 'backend', type: 'string' },
  engine: { flag: '--engine', path: 'engine', type: 'string' },
  precision: { flag: '--precision', path: 'precision', type: 'string' },
};

/** Reads a YAML or JSON config file (YAML is a superset of JSON) into a plain object. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `--config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    const value = parseYaml(text) as unknown;
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(
        `${path}: a config file must hold a mapping of sections (dataset, model, loss, …)`,
      );
    }
    return value;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${path}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = target;
  for (const k of keys.slice(0, -1)) {
    const next = o[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

function flagValue(spec: FlagSpec, raw: unknown): unknown {
  if (spec.type === 'boolean') return spec.negate ? !raw : Boolean(raw);
  const text = String(raw);
  if (spec.type === 'string') {
    // Column flags may name a 0-based index.
    if (spec.path.startsWith('dataset.columns.') && /^\d+$/.test(text)) return Number(text);
    return text;
  }
  if (spec.type === 'numbers') return text.split(',').map(numberOrText);
  return numberOrText(text);
}

/** The number a flag's text spells, else the text itself (so an error shows what was typed). */
function numberOrText(text: string): number | string {
  const n = Number(text);
  return text.trim() === '' || Number.isNaN(n) ? text : n;
}

/** Whether a commander value is a negatable flag (`--no-x`) left at its default. */
export function isDefaultNegatable(key: string, value: unknown): boolean {
  return value === true && FLAG_FIELDS[key]?.flag.startsWith('--no-') === true;
}

/** The config object of a file (or {}) with the flags in `flags` (commander's option values) set over it. */
export function mergeFlags(base: unknown, flags: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone((base ?? {}) as Record<string, unknown>);
  for (const [key, spec] of Object.entries(FLAG_FIELDS)) {
    const raw = flags[key];
    if (raw === undefined) continue;
    // commander sets negatable flags (--no-logq) to true by default; only `false` is an override.
    if (isDefaultNegatable(key, raw)) continue;
    setPath(out, spec.path, flagValue(spec, raw));
  }
  // A data path given on the command line means "not synthetic" even where the file had synthetic settings.
  return out;
}

/** The flag that sets the config field `path`, if any. */
function flagOf(path: string): string | undefined {
  return Object.values(FLAG_FIELDS).find((s) => s.path === path)?.flag;
}

function describeIssue(issue: z.core.$ZodIssue, flagged: Map<string, string>): string {
  const path = issue.path.map(String).join('.');
  // A rule between fields names the flag of its field even where the value was a default.
  const field = path.replace(/(\.\d+)+$/, ''); // an entry of a list flag (--ks) is the flag's
  const flag = flagged.get(field) ?? (issue.code === 'custom' ? flagOf(field) : undefined);
  const where = flag ?? (path ? `config ${path}` : 'config');
  const input = (issue as { input?: unknown }).input;
  // Another field named in a message: its flag where one sets it (flags override a file).
  let msg = issue.message.replace(/\{([\w.]+)\}/g, (_, p: string) => flagOf(p) ?? `config ${p}`);
  if (issue.code === 'invalid_value' && 'values' in issue) {
    msg = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.code === 'too_small' || issue.code === 'too_big') {
    const i = issue as { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin?: string };
    if (i.origin === 'array') msg = issue.code === 'too_small' ? `needs at least ${i.minimum} entries` : msg;
    else if (issue.code === 'too_small') msg = `must be ${i.inclusive === false ? '>' : '≥'} ${i.minimum}`;
    else msg = `must be ${i.inclusive === false ? '<' : '≤'} ${i.maximum}`;
  } else if (issue.code === 'unrecognized_keys') {
    msg = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  } else if (issue.code === 'invalid_type') {
    msg = `must be ${issue.expected === 'int' ? 'an integer' : `a${/^[aeiou]/.test(issue.expected) ? 'n' : ''} ${issue.expected}`}`;
  } else if (issue.code === 'invalid_union' && path === 'split') {
    msg = "kind must be 'leave-one-out' or 'temporal'";
  }
  const got =
    input === undefined || issue.code === 'unrecognized_keys' || issue.code === 'custom'
      ? ''
      : `, got ${JSON.stringify(input)}`;
  return `${where}: ${msg}${got}`;
}

/**
 * Validates a config object; throws a {@link ConfigError} that lists every problem, each naming
 * the field (or the flag that set it), what is allowed and what was given.
 */
export function validateConfig(value: unknown, flags: Record<string, unknown> = {}): TrainConfig {
  const result = configSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const flagged = new Map<string, string>();
  for (const [key, spec] of Object.entries(FLAG_FIELDS))
    if (flags[key] !== undefined) flagged.set(spec.path, spec.flag);
  const lines = result.error.issues.map((i) => describeIssue(i, flagged));
  if (lines.length === 1) throw new ConfigError(`invalid configuration: ${lines[0]}`);
  throw new ConfigError(`invalid configuration:\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

/**
 * The resolved configuration of `cutrec train`: the `--config` file (if any; else the quick preset
 * when no `--data` is given) with flags over it.
 */
export function resolveTrainConfig(
  configPath: string | undefined,
  flags: Record<string, unknown>,
): TrainConfig {
  // The built-in synthetic dataset without a config file gets the quick preset (flags still win).
  const base = configPath ? readConfigFile(configPath) : flags.data === undefined ? QUICK_PRESET : {};
  return validateConfig(mergeFlags(base, flags), flags);
}
