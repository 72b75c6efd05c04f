/**
 * A tiny WebGPU compute runner for the sampler's tests: binds read-only inputs and poisoned
 * outputs (every word 0xdeadbeef, so an unwritten element fails a comparison) at group 0 in order,
 * dispatches `main`, and reads the outputs back as Uint32Array.
 */
import { createBufferFrom, readBuffer } from '@cutrec/tensor';

export const POISON = 0xdeadbeef;

/** An output binding of `words` u32 words. */
export interface Out {
  out: number;
}

/**
 * Runs `code`'s `@compute fn main` over `workgroups` (x, y) with `bindings` at @group(0)
 * @binding(0…) in order: typed arrays are read-only storage, `{ out: words }` read_write storage.
 * Extra bind groups (e.g. a sampler's tables at group 1) come as `groups[1…]`.
 */
export async function runCompute(
  device: GPUDevice,
  code: string,
  bindings: (ArrayBufferView | Out)[],
  workgroups: [number, number?],
  extraGroups: ArrayBufferView[][] = [],
): Promise<Uint32Array[]> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0)
    throw new Error(`WGSL: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const owned: GPUBuffer[] = [];
  const outs: GPUBuffer[] = [];
  const groups: GPUBindGroup[] = [];
  const make = (b: ArrayBufferView | Out): GPUBuffer => {
    const buf =
      'out' in b && typeof b.out === 'number'
        ? createBufferFrom(device, new Uint32Array(b.out).fill(POISON))
        : createBufferFrom(device, b as ArrayBufferView);
    owned.push(buf);
    if ('out' in b && typeof b.out === 'number') outs.push(buf);
    return buf;
  };
  const all = [bindings, ...extraGroups];
  for (let g = 0; g < all.length; g++) {
    const entries = all[g]!.map((b, i) => ({ binding: i, resource: { buffer: make(b) } }));
    if (entries.length > 0)
      groups.push(device.createBindGroup({ layout: pipeline.getBindGroupLayout(g), entries }));
  }
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  groups.forEach((bg, g) => {
    pass.setBindGroup(g, bg);
  });
  pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1);
  pass.end();
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);
  try {
    return await Promise.all(outs.map((b) => readBuffer(device, b, Uint32Array)));
  } finally {
    for (const b of owned) b.destroy();
  }
}
