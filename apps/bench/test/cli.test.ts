import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = promisify(execFile);

describe('cutrec-bench CLI', () => {
  it('answers --help and --version', async () => {
    expect((await run(process.execPath, [cli, '--help'])).stdout).toMatch(/Usage: cutrec-bench/);
    expect((await run(process.execPath, [cli, '--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('loss --quick --json prints one well-formed row per case (shape, not speed)', {
    timeout: 240_000,
  }, async () => {
    const { stdout } = await run(process.execPath, [cli, 'loss', '--quick', '--json'], {
      maxBuffer: 64 * 2 ** 20,
    });
    const rows = JSON.parse(stdout) as Record<string, unknown>[];
    expect(Array.isArray(rows)).toBe(true);
    // 2 quick shapes × (naive CE 1 + naive sampled 3 + tfjs 3 + wgsl 3 + cuda 3 or 6)
    expect(rows.length === 26 || rows.length === 32).toBe(true);
    for (const r of rows) {
      expect(typeof r.impl).toBe('string');
      expect(['row', 'block', 'batch', 'all']).toContain(r.share);
      expect(Object.keys(r.shape as object).sort()).toEqual(['C', 'D', 'K', 'N']);
      expect(typeof r.device).toBe('string');
      if (r.skipped === undefined) {
        expect(r.ms).toBeGreaterThan(0);
        expect(r.msSpread).toBeGreaterThanOrEqual(0);
        expect(r.peakBytes === null || (typeof r.peakBytes === 'number' && r.peakBytes >= 0)).toBe(true);
      } else {
        expect(r.ms).toBeNull();
        expect(r.peakBytes).toBeNull();
        expect(typeof r.skipped).toBe('string');
      }
    }
    // the portable implementations always run
    expect(rows.filter((r) => r.impl === 'tfjs' && r.ms !== null)).toHaveLength(6);
    const onWebGpu = rows.some((r) => r.impl === 'wgsl' && r.ms !== null);
    if (process.env.CI === 'true') expect(onWebGpu).toBe(true);
  });
});
