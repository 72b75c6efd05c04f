/**
 * Arguments of the layer ops' WebGPU launchers (src/ops/<op>/wgsl.ts), the counterpart of
 * ptr.ts: a {@link WgslView} is a buffer and an element offset (4-byte elements: f32, i32, u32),
 * so a view into a flat buffer (a parameter of the flat parameter buffer) needs no 256-byte
 * alignment: it is bound from the aligned byte offset below it and the kernel adds the rest
 * (`P.<name>_o`). A launcher returns the dispatches it needs (runner.ts `Step`s), submitting
 * nothing, so an engine records a whole training step into one `Recording` once and replays it.
 *
 * Every storage binding of the layer ops is declared read_write: WebGPU forbids one buffer as
 * read-only and as writable storage in the same dispatch, and views of one buffer (in-place
 * outputs, sub-views of an arena) are common here.
 */
import type { BindingKind, ParamField, ParamValues } from '../wgsl/program.js';

/** Elements [offset, …) of a GPU buffer (4-byte elements). */
export interface WgslView {
  buffer: GPUBuffer;
  /** First element (default 0). */
  offset?: number;
}

const dummies = new WeakMap<GPUDevice, GPUBuffer>();

/** A 256-byte storage buffer bound where an optional view is absent (the kernel never reads it). */
function dummyOf(device: GPUDevice): GPUBuffer {
  let b = dummies.get(device);
  if (!b) {
    b = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE, label: 'cutrec-ops-unbound' });
    dummies.set(device, b);
  }
  return b;
}

/** Collects a dispatch's storage bindings and their element offsets (`<name>_o` params). */
export class Binder {
  readonly buffers: GPUBufferBinding[] = [];
  readonly params: Record<string, number> = {};

  constructor(
    private readonly device: GPUDevice,
    private readonly op: string,
  ) {}

  /**
   * Binds `n` elements of `v` as the next binding (`name`); an absent view binds a dummy and
   * sets `<name>_o` to 0. Throws naming the argument when the view runs past its buffer.
   */
  view(name: string, v: WgslView | undefined, n: number): this {
    if (!v) {
      this.buffers.push({ buffer: dummyOf(this.device), offset: 0, size: 256 });
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

/** Binding kinds of a layer-op program with `n` storage bindings (all read_write, see above). */
export function opBindings(n: number): BindingKind[] {
  return ['uniform', ...Array.from({ length: n }, () => 'rw' as const)];
}

/** The offset fields `<name>_o` of `names`. */
export function offsetFields(names: readonly string[]): ParamField[] {
  return names.map((n) => [`${n}_o`, 'u32'] as const);
}

/** WGSL declarations of storage bindings 1… as `var<storage, read_write> name: array<type>`. */
export function storageWGSL(decls: readonly (readonly [name: string, type: string])[]): string {
  return decls
    .map(([n, t], i) => `@group(0) @binding(${i + 1}) var<storage, read_write> ${n}: array<${t}>;`)
    .join('\n');
}

/** Checks that `n` is an integer in [lo, hi]; throws naming `what`. */
export function checkInt(op: string, what: string, n: number, lo: number, hi = 2 ** 32 - 1): void {
  if (!(Number.isInteger(n) && n >= lo && n <= hi)) {
    throw new RangeError(`${op}: ${what} must be an integer in [${lo}, ${hi}], got ${n}`);
  }
}
