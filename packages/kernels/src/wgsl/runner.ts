/**
 * Runs WGSL programs on a device: builds and caches one compute pipeline per program key, packs
 * each dispatch's params into one uniform buffer, lays out 1-D work over a 2-D grid (past the
 * 65,535-workgroup limit of one dimension), and submits a batch of dispatches in one command buffer.
 */
import { memoryMeter } from '@cutrec/tensor';
import { PARAM_STRIDE, type Params, packParams, type WgslProgram } from './program.js';
import { tuning } from './tuning.js';

/** One dispatch: a program, its params, buffers for bindings 1…, and how many workgroups do work. */
export interface Dispatch {
  program: WgslProgram;
  params: Params;
  buffers: GPUBufferBinding[];
  /** Work units, one workgroup each; laid out over x (and y when x runs out). */
  units: number;
}

/** A step of a batch: a dispatch, or a buffer clear. */
export type Step = Dispatch | { clear: GPUBuffer };

interface Cached {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const runners = new WeakMap<GPUDevice, Runner>();

/** Timestamp writes for the next compute pass when a benchmark asked for them (see tuning). */
function timestampWrites(): { timestampWrites?: GPUComputePassTimestampWrites } {
  const ts = tuning().timestamps;
  if (!ts || 2 * ts.used + 2 > ts.querySet.count) return {};
  const at = 2 * ts.used;
  ts.used++;
  return {
    timestampWrites: { querySet: ts.querySet, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 },
  };
}

export class Runner {
  private cache = new Map<string, Cached>();

  private constructor(readonly device: GPUDevice) {}

  /** The runner of a device (one per device, so pipelines are built once). */
  static of(device: GPUDevice): Runner {
    let r = runners.get(device);
    if (!r) {
      r = new Runner(device);
      runners.set(device, r);
    }
    return r;
  }

  /** Pipelines built so far (for tests and benchmarks). */
  get pipelineCount(): number {
    return this.cache.size;
  }

  private build(program: WgslProgram): Cached {
    const hit = this.cache.get(program.key);
    if (hit) return hit;
    const code = program.code();
    const module = this.device.createShaderModule({ code, label: program.key });
    const layout = this.device.createBindGroupLayout({
      label: program.key,
      entries: program.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = this.device.createComputePipeline({
      label: program.key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const c = { pipeline, layout };
    this.cache.set(program.key, c);
    return c;
  }

  /** The (x, y) grid for `units` workgroups under the per-dimension limit. */
  grid(units: number): [number, number] {
    const maxDim = tuning().maxWorkgroupsPerDim ?? this.device.limits.maxComputeWorkgroupsPerDimension;
    const x = Math.min(units, maxDim);
    const y = Math.ceil(units / x);
    if (y > maxDim) {
      throw new RangeError(
        `cutrec wgsl: ${units} workgroups exceed ${maxDim}² (maxComputeWorkgroupsPerDimension)`,
      );
    }
    return [x, y];
  }

  /** Encodes the steps in order (each dispatch sees the writes of those before it) and submits them. */
  submit(steps: Step[]): void {
    const dispatches = steps.filter((s): s is Dispatch => 'program' in s && s.units > 0);
    const meter = memoryMeter();
    const uniform =
      dispatches.length > 0
        ? meter.createBuffer(this.device, {
            size: dispatches.length * PARAM_STRIDE,
            usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
            label: 'cutrec-wgsl-params',
          })
        : undefined;
    const host = new ArrayBuffer(Math.max(4, dispatches.length * PARAM_STRIDE));
    const view = new DataView(host);
    const grids = dispatches.map((d, i) => {
      const g = this.grid(d.units);
      packParams({ ...d.params, wg_x: g[0], n_units: d.units }, view, i * PARAM_STRIDE);
      return g;
    });
    if (uniform) this.device.queue.writeBuffer(uniform, 0, host);
    const enc = this.device.createCommandEncoder({ label: 'cutrec-wgsl' });
    let pass: GPUComputePassEncoder | undefined;
    let di = 0;
    for (const s of steps) {
      if ('clear' in s) {
        pass?.end();
        pass = undefined;
        enc.clearBuffer(s.clear);
        continue;
      }
      if (s.units <= 0) continue;
      const c = this.build(s.program);
      pass ??= enc.beginComputePass({ label: 'cutrec-wgsl', ...timestampWrites() });
      const entries: GPUBindGroupEntry[] = [
        {
          binding: 0,
          resource: { buffer: uniform as GPUBuffer, offset: di * PARAM_STRIDE, size: PARAM_STRIDE },
        },
        ...s.buffers.map((b, i) => ({ binding: i + 1, resource: b })),
      ];
      pass.setPipeline(c.pipeline);
      pass.setBindGroup(0, this.device.createBindGroup({ layout: c.layout, entries }));
      const [x, y] = grids[di] as [number, number];
      pass.dispatchWorkgroups(x, y);
      di++;
    }
    pass?.end();
    this.device.queue.submit([enc.finish()]);
    if (uniform) meter.destroy(uniform);
  }
}
