/** Rules between config fields and flag values that are not numbers: one line, in flag names. */
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveTrainConfig, validateConfig } from '../src/config/load.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const flags = (f: Record<string, unknown>) => messageOf(() => resolveTrainConfig(undefined, f));

describe('configuration rules', () => {
  it('--hidden must be divisible by --heads, said in flag names before anything runs', () => {
    expect(flags({ hidden: '7', heads: '2' })).toBe(
      'invalid configuration: --hidden: must be divisible by --heads (2), got 7',
    );
    // hidden from the preset (32): still named by its flag
    expect(flags({ heads: '3' })).toBe(
      'invalid configuration: --hidden: must be divisible by --heads (3), got 32',
    );
    expect(messageOf(() => validateConfig({ model: { hidden: 10, numHeads: 4 } }))).toMatch(
      /--hidden: must be divisible by --heads \(4\), got 10/,
    );
  });

  it('a flag that is not a number shows what was typed', () => {
    expect(flags({ lr: 'abc' })).toBe('invalid configuration: --lr: must be a number, got "abc"');
    expect(flags({ ks: '5,x' })).toMatch(/--ks: must be a number, got "x"/);
    expect(flags({ epochs: '' })).toMatch(/--epochs: must be a number, got ""/);
    expect(flags({ lr: '0' })).toBe('invalid configuration: --lr: must be > 0, got 0');
  });

  it('--impl cuda runs beside the CPU backend, --impl wgsl beside WebGPU', () => {
    expect(flags({ impl: 'cuda', backend: 'webgpu' })).toMatch(
      /^invalid configuration: --impl: 'cuda' .* with --backend webgpu use 'wgsl'$/,
    );
    expect(flags({ impl: 'wgsl', backend: 'cpu' })).toMatch(/--impl: 'wgsl' runs on WebGPU/);
    expect(resolveTrainConfig(undefined, { impl: 'cuda', backend: 'cpu' }).loss.impl).toBe('cuda');
  });

  it('a temporal validation threshold must come before the test threshold', () => {
    const msg = messageOf(() =>
      validateConfig({ split: { kind: 'temporal', threshold: 10, validThreshold: 10 } }),
    );
    expect(msg).toMatch(/--split-threshold \(10\), got 10/);
  });

  it('--no-validation turns the validation pass off; on by default', () => {
    expect(validateConfig({}).train.validation).toBe(true);
    expect(resolveTrainConfig(undefined, { validation: false }).train.validation).toBe(false);
    expect(resolveTrainConfig(undefined, { validation: true }).train.validation).toBe(true);
  });

  it('several problems are listed one per line', () => {
    const msg = flags({ lr: 'abc', batchSize: '0' });
    expect(msg.split('\n')).toEqual([
      'invalid configuration:',
      '  --lr: must be a number, got "abc"',
      '  --batch-size: must be ≥ 1, got 0',
    ]);
  });
});
