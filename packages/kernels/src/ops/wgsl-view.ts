/**
 * Arguments of the layer ops' WebGPU launchers (src/ops/<op>/wgsl.ts), the counterpart of
 * ptr.ts: a {@link WgslView} is a buffer and an element offset (4-byte elements: f32, i32, u32),
 * so a view into a flat buffer (a parameter of the flat parameter buffer) needs no 256-byte
 * alignment: it is bound from the aligned byte offset below it and the kernel adds the rest
 * (`P.<name>_o`). A launcher returns the dispatches it needs (runner.ts `Step`s), submitting
 * nothing, so an engine records a whole training step into one `Recording` once and replays it.
 *
 * Binding kinds follow WebGPU's usage rules: inputs are read-only storage and outputs read_write;
 * one buffer may not be bound read-only and writable in one dispatch, and two writable bindings
 * may not overlap. So the engine allocates activations as separate buffers, a kernel whose output
 * may be one of its inputs (dx over dSkip) has an in-place variant that reads the output
 * binding instead, and absent optional views bind disjoint ranges of per-device dummy buffers.
 */
import type { BindingKind, ParamField, ParamValues } from '../wgsl/program.js';

/** A storage binding of a layer-op kernel: name, WGSL element type, read-only or read_write. */
export type Decl = readonly [name: string, elem: string, kind: 'read' | 'rw'];

/** Elements [offset, …) of a GPU buffer (4-byte elements). */
export interface WgslView {
  buffer: GPUBuffer;
  /** First element (default 0). */
  offset?: number;
}

/** Most bindings of one layer-op kernel (the dummies' disjoint slots). */
const MAX_BINDINGS = 16;
const dummies = new WeakMap<GPUDevice, { read: GPUBuffer; rw: GPUBuffer }>();

/** Storage buffers bound where an optional view is absent (the kernel never touches them). */
function dummyOf(device: GPUDevice): { read: GPUBuffer; rw: GPUBuffer } {
  let d = dummies.get(device);
  if (!d) {
    const make = (label: string) =>
      device.createBuffer({ size: 256 * MAX_BINDINGS, usage: GPUBufferUsage.STORAGE, label });
    d = { read: make('cutrec-ops-unbound-read'), rw: make('cutrec-ops-unbound-rw') };
    dummies.set(device, d);
  }
  return d;
}

/** Collects a dispatch's storage bindings and their element offsets (`<name>_o` params). */
export class Binder {
  readonly buffers: GPUBufferBinding[] = [];
  readonly params: Record<string, number> = {};

  constructor(
    private readonly device: GPUDevice,
    private readonly op: string,
    private readonly decls: readonly Decl[],
  ) {}

  /**
   * Binds `n` elements of `v` as the next binding, which must be `name`; an absent view binds a
   * dummy and sets `<name>_o` to 0. Throws naming the argument when the view runs past its buffer.
   */
  view(name: string, v: WgslView | undefined, n: number): this {
    const at = this.buffers.length;
    const decl = this.decls[at];
    if (!decl || decl[0] !== name) {
      throw new Error(`${this.op}: binding ${at + 1} is ${decl?.[0] ?? 'none'}, not ${name}`);
    }
    if (!v) {
      const d = dummyOf(this.device);
      this.buffers.push({ buffer: decl[2] === 'rw' ? d.rw : d.read, offset: 256 * at, size: 256 });
      this.params[`${name}_o`] = 0;
      return this;
    }
    const off = v.offset ?? 0;
    if (!(Number.isInteger(off) && off >= 0 && Number.isInteger(n) && n >= 0)) {
      throw new RangeError(`${this.op}: ${name}: offset ${off} and length ${n} must be integers ≥ 0`);
    }
    const end = (off + n) * 4;
    if (end > v.buffer.size) {
      throw new RangeError(
        `${this.op}: ${name} needs elements [${off}, ${off + n}) = ${end} bytes; its buffer has ${v.buffer.size}`,
      );
    }
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    const start = Math.floor((off * 4) / align) * align;
    const size = Math.max(4, end - start);
    if (size > this.device.limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `${this.op}: ${name} binds ${size} bytes, over maxStorageBufferBindingSize (${this.device.limits.maxStorageBufferBindingSize})`,
      );
    }
    this.buffers.push({ buffer: v.buffer, offset: start, size: Math.min(size, v.buffer.size - start) });
    this.params[`${name}_o`] = off - start / 4;
    return this;
  }

  /** The bound params merged with `extra`. */
  with(extra: ParamValues): ParamValues {
    return { ...this.params, ...extra };
  }
}

/** Binding kinds of a layer-op program: the uniform params, then `decls`. */
export function opBindings(decls: readonly Decl[]): BindingKind[] {
  return ['uniform', ...decls.map((d) => d[2])];
}

/** The offset fields `<name>_o` of the bindings. */
export function offsetFields(decls: readonly Decl[]): ParamField[] {
  return decls.map((d) => [`${d[0]}_o`, 'u32'] as const);
}

/** WGSL declarations of storage bindings 1… (`var<storage, read|read_write> name: array<elem>`). */
export function storageWGSL(decls: readonly Decl[]): string {
  return decls
    .map(
      ([n, t, k], i) =>
        `@group(0) @binding(${i + 1}) var<storage, ${k === 'rw' ? 'read_write' : 'read'}> ${n}: array<${t}>;`,
    )
    .join('\n');
}

/** Whether two views start at the same element of the same buffer (an in-place call). */
export function sameView(a: WgslView | undefined, b: WgslView | undefined): boolean {
  return !!a && !!b && a.buffer === b.buffer && (a.offset ?? 0) === (b.offset ?? 0);
}

/** Checks that `n` is an integer in [lo, hi]; throws naming `what`. */
export function checkInt(op: string, what: string, n: number, lo: number, hi = 2 ** 32 - 1): void {
  if (!(Number.isInteger(n) && n >= lo && n <= hi)) {
    throw new RangeError(`${op}: ${what} must be an integer in [${lo}, ${hi}], got ${n}`);
  }
}
