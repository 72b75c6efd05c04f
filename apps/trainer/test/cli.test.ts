import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('cutrec CLI', () => {
  it('prints its version and help', () => {
    expect(run('--version').trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = run('--help');
    expect(help).toMatch(/Usage: cutrec/);
    expect(help).toMatch(/info/);
  });

  it('info reports backends, and the WebGPU adapter where there is one', () => {
    const report = JSON.parse(run('info', '--json'));
    const names = report.backends.map((b: { name: string }) => b.name);
    expect(names).toEqual(expect.arrayContaining(['webgpu', 'cpu', 'cuda']));
    const webgpu = report.backends.find((b: { name: string }) => b.name === 'webgpu');
    if (process.env.CI === 'true') expect(webgpu.usable).toBe(true);
    if (webgpu.usable) {
      expect(report.webgpu.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
      const text = run('info');
      expect(text).toMatch(/WebGPU adapter:/);
      console.log(text);
    } else {
      console.warn(`[cutrec] no WebGPU adapter here: ${webgpu.reason.split('\n')[0]}`);
    }
  });
});
