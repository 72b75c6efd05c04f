/**
 * Runs WGSL programs on a device — the one program mechanism of cutrec's WebGPU kernels. A
 * `Runner` per device builds and caches one compute pipeline per program key (with an explicit
 * bind-group layout from the program's binding kinds). A `Recording` is a list of steps
 * (dispatches, buffer clears and copies) made ready once: every dispatch's params packed into
 * its own 256-byte slice of one uniform buffer, every bind group created, every grid laid out.
 * It is then encoded into a command encoder as often as wanted ("record once, replay per
 * step"); what changes between replays lives in storage buffers the kernels read (the step
 * counter, the learning rate) or is rewritten with `setParams`. `Runner.submit` is the one-shot
 * form: record, submit one command buffer, free the uniform.
 *
 * 1-D work of `units` workgroups is laid out over x, then y past the per-dimension limit
 * (65,535): a kernel computes its unit as `wid.x + wid.y * num_workgroups.x` (the CCE- kernels
 * read `P.wg_x` instead) and returns when it is past its work.
 */
import { memoryMeter } from '@cutrec/tensor';
import {
  PARAM_FIELDS,
  PARAM_STRIDE,
  type ParamField,
  type ParamValues,
  packParamFields,
  type WgslProgram,
} from './program.js';
import { tuning } from './tuning.js';

/** One dispatch: a program, its params, buffers for bindings 1…, and how many workgroups do work. */
export interface Dispatch {
  program: WgslProgram;
  params: ParamValues;
  buffers: (GPUBufferBinding | GPUBuffer)[];
  /** Work units, one workgroup each; laid out over x (and y when x runs out). */
  units: number;
}

/** Zeroes `clear` (bytes [offset, offset + size), default all of it). */
export interface Clear {
  clear: GPUBuffer;
  offset?: number;
  size?: number;
}

/** Copies `size` bytes from src at srcOffset to dst at dstOffset. */
export interface Copy {
  copy: { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number };
}

/** A step of a recording: a dispatch, a buffer clear, or a buffer copy (in order). */
export type Step = Dispatch | Clear | Copy;

/** A pipeline and its bind-group layout. */
export interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const runners = new WeakMap<GPUDevice, Runner>();

/** Timestamp writes for the next compute pass when a benchmark asked for them (see tuning). */
function timestampWrites(label: string): { timestampWrites?: GPUComputePassTimestampWrites } {
  const ts = tuning().timestamps;
  if (!ts || 2 * ts.used + 2 > ts.querySet.count) return {};
  const at = 2 * ts.used;
  ts.used++;
  ts.labels?.push(label);
  return {
    timestampWrites: { querySet: ts.querySet, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 },
  };
}

const isDispatch = (s: Step): s is Dispatch => 'program' in s;
const fieldsOf = (p: WgslProgram): readonly ParamField[] => p.paramFields ?? PARAM_FIELDS;
const asBinding = (b: GPUBufferBinding | GPUBuffer): GPUBufferBinding => ('buffer' in b ? b : { buffer: b });

export class Runner {
  private cache = new Map<string, Compiled>();
  private pending = new Map<string, Promise<Compiled>>();

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

  /** The most storage buffers one program built so far binds (for tests: the device limit a caller needs). */
  maxStorageBindings = 0;

  /** The program's bind group layout; throws, naming the limit, when it binds more storage buffers than the device allows. */
  private layoutOf(program: WgslProgram): GPUBindGroupLayout {
    const storage = program.bindings.filter((k) => k !== 'uniform').length;
    const limit = this.device.limits.maxStorageBuffersPerShaderStage;
    if (storage > limit) {
      throw new RangeError(
        `cutrec wgsl: kernel ${program.key} binds ${storage} storage buffers, and this adapter allows ${limit} per shader stage (maxStorageBuffersPerShaderStage)`,
      );
    }
    this.maxStorageBindings = Math.max(this.maxStorageBindings, storage);
    return this.device.createBindGroupLayout({
      label: program.key,
      entries: program.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
  }

  private descriptor(program: WgslProgram, layout: GPUBindGroupLayout): GPUComputePipelineDescriptor {
    if (program.bindings[0] !== 'uniform') {
      throw new Error(`cutrec wgsl: program ${program.key}: binding 0 must be the uniform params`);
    }
    const module = this.device.createShaderModule({ code: program.code(), label: program.key });
    return {
      label: program.key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    };
  }

  /** The program's pipeline, built now (synchronously) unless cached. */
  pipeline(program: WgslProgram): Compiled {
    const hit = this.cache.get(program.key);
    if (hit) return hit;
    const layout = this.layoutOf(program);
    const pipeline = this.device.createComputePipeline(this.descriptor(program, layout));
    const c = { pipeline, layout };
    this.cache.set(program.key, c);
    return c;
  }

  /**
   * The program's pipeline built asynchronously; rejects with the compiler's message (and is not
   * cached then, so a later call retries). Use before recording where a compile error must be an
   * exception rather than a device error.
   */
  compile(program: WgslProgram): Promise<Compiled> {
    const hit = this.cache.get(program.key);
    if (hit) return Promise.resolve(hit);
    let p = this.pending.get(program.key);
    if (!p) {
      const layout = this.layoutOf(program);
      p = this.device.createComputePipelineAsync(this.descriptor(program, layout)).then(
        (pipeline) => {
          const c = { pipeline, layout };
          this.cache.set(program.key, c);
          this.pending.delete(program.key);
          return c;
        },
        (err: unknown) => {
          this.pending.delete(program.key);
          throw err;
        },
      );
      this.pending.set(program.key, p);
    }
    return p;
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

  /** Makes `steps` ready to encode (uniform written, bind groups created); see {@link Recording}. */
  record(steps: readonly Step[], label = 'cutrec-wgsl'): Recording {
    return new Recording(this, steps, label);
  }

  /** Encodes the steps in order (each dispatch sees the writes of those before it) and submits them. */
  submit(steps: readonly Step[], label?: string): void {
    const rec = this.record(steps, label);
    rec.submit();
    rec.destroy();
  }
}

interface Ready {
  compiled: Compiled;
  bindGroup: GPUBindGroup;
  grid: [number, number];
}

/**
 * Steps made ready once and encoded any number of times: the engine builds one at engine-build
 * time and encodes it every training step. Dispatches with no work units are skipped.
 */
export class Recording {
  readonly label: string;
  private readonly device: GPUDevice;
  private readonly steps: readonly Step[];
  private readonly ready: (Ready | undefined)[];
  private readonly slot: number[];
  private readonly uniform: GPUBuffer | undefined;

  constructor(runner: Runner, steps: readonly Step[], label: string) {
    this.device = runner.device;
    this.label = label;
    this.steps = steps;
    this.slot = [];
    let n = 0;
    for (const s of steps) this.slot.push(isDispatch(s) && s.units > 0 ? n++ : -1);
    this.uniform =
      n > 0
        ? memoryMeter().createBuffer(this.device, {
            size: n * PARAM_STRIDE,
            usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
            label: `${label}-params`,
          })
        : undefined;
    const host = new DataView(new ArrayBuffer(Math.max(4, n * PARAM_STRIDE)));
    this.ready = steps.map((s, i) => {
      const at = this.slot[i] as number;
      if (!isDispatch(s) || at < 0) return undefined;
      const grid = runner.grid(s.units);
      this.pack(s, grid, host, at * PARAM_STRIDE);
      const compiled = runner.pipeline(s.program);
      const bindings = s.program.bindings.length - 1;
      if (s.buffers.length !== bindings) {
        throw new RangeError(
          `cutrec wgsl: program ${s.program.key} takes ${bindings} buffers, got ${s.buffers.length}`,
        );
      }
      const entries: GPUBindGroupEntry[] = [
        {
          binding: 0,
          resource: { buffer: this.uniform as GPUBuffer, offset: at * PARAM_STRIDE, size: PARAM_STRIDE },
        },
        ...s.buffers.map((b, j) => ({ binding: j + 1, resource: asBinding(b) })),
      ];
      const bindGroup = this.device.createBindGroup({
        label: s.program.key,
        layout: compiled.layout,
        entries,
      });
      return { compiled, bindGroup, grid };
    });
    if (this.uniform) this.device.queue.writeBuffer(this.uniform, 0, host.buffer);
  }

  private pack(d: Dispatch, grid: [number, number], view: DataView, at: number): void {
    packParamFields(fieldsOf(d.program), { ...d.params, wg_x: grid[0], n_units: d.units }, view, at);
  }

  /** Rewrites the params of step `index` (a dispatch) for the next submission. */
  setParams(index: number, params: ParamValues): void {
    const s = this.steps[index];
    const r = this.ready[index];
    const at = this.slot[index] ?? -1;
    if (!s || !isDispatch(s)) throw new RangeError(`Recording.setParams: step ${index} is not a dispatch`);
    if (!r || at < 0) return;
    const view = new DataView(new ArrayBuffer(PARAM_STRIDE));
    this.pack({ ...s, params }, r.grid, view, 0);
    this.device.queue.writeBuffer(this.uniform as GPUBuffer, at * PARAM_STRIDE, view.buffer);
  }

  /** Encodes the steps into `enc`: consecutive dispatches share one compute pass. */
  encode(enc: GPUCommandEncoder): void {
    let pass: GPUComputePassEncoder | undefined;
    const perDispatch = tuning().timestamps?.labels !== undefined;
    this.steps.forEach((s, i) => {
      if (isDispatch(s)) {
        const r = this.ready[i];
        if (!r) return;
        pass ??= enc.beginComputePass({ label: this.label, ...timestampWrites(s.program.key) });
        pass.setPipeline(r.compiled.pipeline);
        pass.setBindGroup(0, r.bindGroup);
        pass.dispatchWorkgroups(r.grid[0], r.grid[1]);
        if (perDispatch) {
          pass.end();
          pass = undefined;
        }
        return;
      }
      pass?.end();
      pass = undefined;
      if ('clear' in s) enc.clearBuffer(s.clear, s.offset ?? 0, s.size);
      else if (s.copy.size > 0) {
        const c = s.copy;
        enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
      }
    });
    pass?.end();
  }

  /** Encodes the steps into one command buffer and submits it. */
  submit(): void {
    const enc = this.device.createCommandEncoder({ label: this.label });
    this.encode(enc);
    this.device.queue.submit([enc.finish()]);
  }

  /** Frees the uniform buffer (after the last submission is queued; WebGPU keeps it alive until done). */
  destroy(): void {
    if (this.uniform) memoryMeter().destroy(this.uniform);
  }
}
