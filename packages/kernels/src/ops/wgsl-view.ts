/**
 * Arguments of the layer ops' WebGPU launchers (src/ops/<op>/wgsl.ts), the counterpart of
 * ptr.ts: a {@link WgslView} is a buffer and an element offset (4-byte elements: f32, i32, u32;
 * 2-byte elements for f16 activations, see {@link WgslAct}),
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

/**
 * A storage binding of a layer-op kernel: name, WGSL element type, read-only or read_write. An
 * element type `act_t` (or `act4_t`, its vec4) is an activation in the kernel's storage type
 * (`alias act_t = f32 | f16`, {@link actHeaderWGSL}); one naming f16 holds 2-byte scalars.
 */
export type Decl = readonly [name: string, elem: string, kind: 'read' | 'rw'];

/**
 * The storage type of a kernel's activations: 'f32', or 'f16' where the device has the
 * 'shader-f16' feature (values are stored as f16; kernels load them into f32 and round on store).
 */
export type WgslAct = 'f32' | 'f16';

/** Bytes of one element of `act`. */
export function actBytes(act: WgslAct): number {
  return act === 'f16' ? 2 : 4;
}

/**
 * The head of a kernel module whose activations are stored as `act`: the `enable` directives
 * (f16 first, then `extra`, e.g. ['subgroups']) and `alias act_t = …; alias act4_t = vec4<…>;`. It must open the module
 * (WGSL wants every `enable` before any declaration).
 */
export function actHeaderWGSL(act: WgslAct, extra: readonly string[] = []): string {
  const enables = [...(act === 'f16' ? ['f16'] : []), ...extra].map((e) => `enable ${e};\n`).join('');
  return `${enables}alias act_t = ${act};\nalias act4_t = vec4<${act}>;\n`;
}

/** Throws naming `op` when `act` is 'f16' and `device` lacks 'shader-f16'. */
export function checkAct(device: GPUDevice, op: string, act: WgslAct): void {
  if (act === 'f16' && !device.features.has('shader-f16')) {
    throw new Error(
      `${op}: act 'f16' needs the WebGPU feature 'shader-f16', which this device lacks; use act 'f32' (or an adapter with shader-f16)`,
    );
  }
}

/** Bytes of one scalar of a binding of element type `elem` when activations are `act`. */
export function scalarBytes(elem: string, act: WgslAct): number {
  if (/\bact4?_t\b/.test(elem)) return actBytes(act);
  return /\bf16\b/.test(elem) ? 2 : 4;
}

/**
 * Elements [offset, …) of a GPU buffer. Elements are the binding's scalars: 4 bytes (f32, i32,
 * u32), or 2 for an f16 binding (an `act` binding of an f16 kernel).
 */
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

  /** `act`: the storage type of the decls' `act_t` bindings (their elements are 2 bytes in f16). */
  constructor(
    private readonly device: GPUDevice,
    private readonly op: string,
    private readonly decls: readonly Decl[],
    private readonly act: WgslAct = 'f32',
  ) {
    checkAct(device, op, act);
  }

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
    const eb = scalarBytes(decl[1], this.act);
    const end = (off + n) * eb;
    if (end > v.buffer.size) {
      throw new RangeError(
        `${this.op}: ${name} needs elements [${off}, ${off + n}) = ${end} bytes; its buffer has ${v.buffer.size}`,
      );
    }
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    const start = Math.floor((off * eb) / align) * align;
    // Binding sizes are multiples of 4 bytes (an odd count of f16 elements rounds up).
    const size = Math.max(4, Math.ceil((end - start) / 4) * 4);
    if (size > this.device.limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `${this.op}: ${name} binds ${size} bytes, over maxStorageBufferBindingSize (${this.device.limits.maxStorageBufferBindingSize})`,
      );
    }
    this.buffers.push({ buffer: v.buffer, offset: start, size: Math.min(size, v.buffer.size - start) });
    this.params[`${name}_o`] = off - start / eb;
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
