/**
 * The WGSL runner's binding limit and the kernel layout choice, on the test adapter (lavapipe in
 * CI): a program that binds more storage buffers than the adapter allows fails with one line
 * naming the kernel and the limit (before any pipeline is made), `maxStorageBindings` records the
 * most a built program binds, and `wgslLayoutOf` is 'cpu' on a software adapter, else 'gpu',
 * with the tuning and $CUTREC_WGSL_LAYOUT forcing one (a bad value named).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BindingKind,
  isSoftwareAdapter,
  Runner,
  setWgslTuning,
  type WgslProgram,
  wgslLayoutOf,
} from '../src/index.js';
import { device, skipReason } from './ops/wgsl-util.js';

/** A program with `n` read-only storage bindings that copies nothing. */
function program(n: number): WgslProgram {
  const decls = Array.from(
    { length: n },
    (_, i) => `@group(0) @binding(${i + 1}) var<storage, read> b${i}: array<f32>;`,
  );
  const reads = Array.from({ length: n }, (_, i) => `b${i}[0]`).join(' + ');
  return {
    key: `test/bindings/${n}`,
    workgroupSize: 1,
    bindings: ['uniform', ...Array<BindingKind>(n).fill('read')],
    paramFields: [['x', 'u32']],
    code: () => `struct Params { x: u32, }
@group(0) @binding(0) var<uniform> P: Params;
${decls.join('\n')}
@compute @workgroup_size(1)
fn main() { let s = ${reads}; _ = s; }
`,
  };
}

describe.skipIf(skipReason !== undefined)('WGSL runner and layout', () => {
  afterEach(() => {
    setWgslTuning({});
    delete process.env.CUTREC_WGSL_LAYOUT;
  });

  it('a program binding more storage buffers than the adapter allows fails naming the limit', async () => {
    const gpu = device as GPUDevice;
    const limit = gpu.limits.maxStorageBuffersPerShaderStage;
    const runner = Runner.of(gpu);
    gpu.pushErrorScope('validation');
    runner.pipeline(program(2));
    expect((await gpu.popErrorScope())?.message, 'the 2-binding program is valid').toBeUndefined();
    expect(runner.maxStorageBindings).toBeGreaterThanOrEqual(2);
    expect(() => runner.pipeline(program(limit + 1))).toThrow(
      `cutrec wgsl: kernel test/bindings/${limit + 1} binds ${limit + 1} storage buffers, and this adapter allows ${limit} per shader stage (maxStorageBuffersPerShaderStage)`,
    );
    expect(runner.maxStorageBindings).toBeLessThanOrEqual(limit);
  });

  it("the layout is 'cpu' on a software adapter, else 'gpu'; the tuning and CUTREC_WGSL_LAYOUT force one", () => {
    const gpu = device as GPUDevice;
    expect(wgslLayoutOf(gpu)).toBe(isSoftwareAdapter(gpu) ? 'cpu' : 'gpu');
    process.env.CUTREC_WGSL_LAYOUT = 'gpu';
    expect(wgslLayoutOf(gpu)).toBe('gpu');
    setWgslTuning({ layout: 'cpu' });
    expect(wgslLayoutOf(gpu), 'the tuning wins').toBe('cpu');
    setWgslTuning({});
    process.env.CUTREC_WGSL_LAYOUT = 'fast';
    expect(() => wgslLayoutOf(gpu)).toThrow('CUTREC_WGSL_LAYOUT must be gpu or cpu, got "fast"');
  });
});
