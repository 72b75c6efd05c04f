import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, mergeFlags, resolveTrainConfig, validateConfig } from '../src/config/load.js';
import { explainOutOfMemory, isOutOfMemory } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cutrec-config-'));

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('training configuration', () => {
  it('defaults to the synthetic dataset, CCE- and leave-one-out', () => {
    const c = validateConfig({});
    expect(c.dataset.path).toBeNull();
    expect(c.dataset.synthetic.numUsers).toBeGreaterThan(0);
    expect(c.loss.kind).toBe('cce-');
    expect(c.split.kind).toBe('leave-one-out');
    expect(c.train.metric).toBe('ndcg@10');
    expect(c.backend).toBe('auto');
    expect(c.model.maxLen).toBe('auto');
  });

  it('removes seen items in evaluation unless --keep-seen (a file may say either)', () => {
    expect(validateConfig({}).eval.removeSeen).toBe(true);
    expect(resolveTrainConfig(undefined, { keepSeen: true }).eval.removeSeen).toBe(false);
    expect(resolveTrainConfig(undefined, { removeSeen: true }).eval.removeSeen).toBe(true);
    const kept = join(dir, 'kept.json');
    writeFileSync(kept, JSON.stringify({ eval: { removeSeen: false } }));
    expect(resolveTrainConfig(kept, {}).eval.removeSeen).toBe(false);
    expect(resolveTrainConfig(kept, { removeSeen: true }).eval.removeSeen).toBe(true);
  });

  it('uses the quick preset on the synthetic dataset without a config file, flags over it', () => {
    const q = resolveTrainConfig(undefined, {});
    expect(q.model).toMatchObject({ numBlocks: 1, hidden: 32 });
    expect(q.optimizer.lr).toBe(0.01);
    expect(resolveTrainConfig(undefined, { hidden: '16' }).model.hidden).toBe(16);
    const d = resolveTrainConfig(undefined, { data: 'Beauty.txt' });
    expect(d.model).toMatchObject({ numBlocks: 2, numHeads: 2, hidden: 64 });
    expect(d.optimizer.lr).toBe(2e-3);
  });

  it('reads YAML and JSON files, with flags over them', () => {
    const yamlPath = join(dir, 'a.yaml');
    writeFileSync(
      yamlPath,
      'loss:\n  kind: gbce\n  negatives: 16\n  t: 0.5\ntrain:\n  epochs: 3\nmodel:\n  hidden: 48\n',
    );
    const c = resolveTrainConfig(yamlPath, { epochs: '7', hidden: undefined });
    expect(c.loss).toMatchObject({ kind: 'gbce', negatives: 16, t: 0.5 });
    expect(c.train.epochs).toBe(7);
    expect(c.model.hidden).toBe(48);
    const jsonPath = join(dir, 'b.json');
    writeFileSync(
      jsonPath,
      JSON.stringify({ dataset: { path: 'x.csv', format: 'csv', columns: { user: 'uid' } } }),
    );
    const d = resolveTrainConfig(jsonPath, { itemCol: '3', timeCol: 'ts' });
    expect(d.dataset.columns).toEqual({ user: 'uid', item: 3, timestamp: 'ts' });
  });

  it('names the field, the allowed values and the value given', () => {
    const m = errorOf(() => validateConfig({ loss: { kind: 'softmax' }, train: { batchSize: 0, epoch: 3 } }));
    expect(m).toMatch(/config loss\.kind: must be one of "ce", "cce-", "bce", "gbce", got "softmax"/);
    expect(m).toMatch(/config train\.batchSize: must be ≥ 1, got 0/);
    expect(m).toMatch(/config train: unknown field 'epoch'/);
  });

  it('names the flag when a flag set the bad value', () => {
    const flags = { batchSize: '-3', lr: 'fast', share: 'sometimes' };
    const m = errorOf(() => validateConfig(mergeFlags({}, flags), flags));
    expect(m).toMatch(/--batch-size: must be ≥ 1, got -3/);
    expect(m).toMatch(/--lr: must be a number/);
    expect(m).toMatch(/--share: must be one of "row", "block", "batch"/);
  });

  it('rejects a bad metric, a non-integer and an unreadable file', () => {
    expect(errorOf(() => validateConfig({ train: { metric: 'auc' } }))).toMatch(
      /config train\.metric: must look like 'ndcg@10'/,
    );
    expect(errorOf(() => validateConfig({ model: { hidden: 6.5 } }))).toMatch(
      /config model\.hidden: must be an integer, got 6\.5/,
    );
    expect(errorOf(() => resolveTrainConfig(join(dir, 'missing.yaml'), {}))).toMatch(
      /--config .*missing\.yaml: cannot read it/,
    );
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'loss: [unclosed');
    expect(errorOf(() => resolveTrainConfig(bad, {}))).toMatch(/bad\.yaml: not valid YAML\/JSON/);
  });
});

describe('out-of-memory errors', () => {
  const settings = { batchSize: 256, maxLen: 50, hidden: 64, negatives: 512, evalBatchSize: 512 } as const;

  it('say which settings to lower', () => {
    for (const msg of [
      'CUDA_ERROR_OUT_OF_MEMORY: out of memory',
      'WebGPU error: Buffer allocation failed',
      'the GPU device was lost: unknown',
      'Out of memory: Failed to allocate 2147483648 bytes',
    ]) {
      expect(isOutOfMemory(new Error(msg))).toBe(true);
      const e = explainOutOfMemory(new Error(msg), settings, 'training');
      expect(e.message).toMatch(/--batch-size \(now 256\)/);
      expect(e.message).toMatch(/--max-len \(now 50\)/);
      expect(e.message).toMatch(/--negatives \(now 512\)/);
      expect(e.message).toMatch(/--hidden \(now 64\)/);
    }
    expect(explainOutOfMemory(new Error('out of memory'), settings, 'evaluation').message).toMatch(
      /eval\.batchSize \(now 512\)/,
    );
  });

  it('leave other errors as they are', () => {
    const e = new Error('Beauty.txt:17: expected an item id');
    expect(explainOutOfMemory(e, settings, 'training')).toBe(e);
  });
});
