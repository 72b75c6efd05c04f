/**
 * What every WGSL kernel of cutrec declares (one class per kernel, like tfjs-backend-webgpu's
 * programs): its cache key, workgroup size, bindings in order, the fields of its uniform
 * `Params` struct, and its WGSL source from the template module beside it. `Runner` (runner.ts)
 * runs any program the same way.
 */

/** How a binding is declared: the uniform params (always binding 0), read-only or read-write storage. */
export type BindingKind = 'uniform' | 'read' | 'rw';

/** Type of a Params field (every field is 4 bytes). */
export type ParamType = 'u32' | 'i32' | 'f32';

/** A field of a program's uniform Params struct: name and type. */
export type ParamField = readonly [name: string, type: ParamType];

export interface WgslProgram {
  /** Identifies the generated WGSL: programs with equal keys share one pipeline. */
  readonly key: string;
  /** Threads per workgroup (1-D). */
  readonly workgroupSize: number;
  /** Binding kinds in binding order (group 0); binding 0 is the uniform params. */
  readonly bindings: readonly BindingKind[];
  /**
   * The fields of the program's `Params` struct (binding 0), in order; at most 64. Default: the
   * CCE- kernels' shared {@link PARAM_FIELDS}. Fields named `wg_x` and `n_units` are filled by
   * the runner with the dispatch's grid width and work-unit count.
   */
  readonly paramFields?: readonly ParamField[];
  /** The WGSL source. */
  code(): string;
}

/** Params fields shared by all kernels, in the order of the WGSL `Params` struct (all 4-byte). */
export const PARAM_FIELDS = [
  ['n_rows', 'u32'], // rows in this row chunk
  ['row_base', 'u32'], // global index of the chunk's first row
  ['n_items', 'u32'], // items in this item chunk
  ['item_base', 'u32'], // global index of the chunk's first item
  ['dim', 'u32'], // D
  ['k', 'u32'], // negatives per group (for 'all': items in this chunk)
  ['num_items', 'u32'], // C, the sampler's range
  ['block_rows', 'u32'], // rows per group (N for 'batch' and 'all')
  ['key0', 'u32'],
  ['key1', 'u32'],
  ['stream', 'u32'],
  ['ignore_index', 'i32'],
  ['log_k', 'f32'], // log K (logQ correction = log K + log q)
  ['first', 'u32'], // first item-chunk pass: start the online state
  ['wg_x', 'u32'], // workgroups dispatched along x (linearises a 2-D dispatch)
  ['n_units', 'u32'], // work units (workgroups) that do work; the rest return
  ['tiles_per_group', 'u32'],
  ['g0', 'u32'], // first group of this row chunk
  ['n_ktiles', 'u32'],
  ['n_dchunks', 'u32'],
  ['n_groups', 'u32'], // grad-items: groups in this row chunk
  ['splits', 'u32'], // grad-items: workgroups that share one group's row tiles
] as const;

export type ParamName = (typeof PARAM_FIELDS)[number][0];
/** Params of the CCE- kernels (unset fields are 0). */
export type Params = Partial<Record<ParamName, number>>;
/** Params of any program, by field name (unset fields are 0). */
export type ParamValues = Readonly<Record<string, number | undefined>>;

/** Byte size of one Params block in the uniform buffer (aligned for dynamic offsets). */
export const PARAM_STRIDE = 256;

/** The WGSL declaration of a Params struct of `fields` as `var<uniform> P` at binding 0. */
export function paramsStructWGSL(fields: readonly ParamField[]): string {
  if (fields.length === 0) fields = [['unused', 'u32']];
  if (fields.length > PARAM_STRIDE / 4) throw new RangeError(`Params: ${fields.length} fields exceed 64`);
  const body = fields.map(([n, t]) => `  ${n}: ${t},`).join('\n');
  return `struct Params {\n${body}\n};\n@group(0) @binding(0) var<uniform> P: Params;\n`;
}

/** The WGSL declaration of the CCE- kernels' `Params` and binding 0. */
export function paramsWGSL(): string {
  return paramsStructWGSL(PARAM_FIELDS);
}

/** Packs `p` into `view` at `byteOffset` in the order of `fields`; a field not in `p` is 0. */
export function packParamFields(
  fields: readonly ParamField[],
  p: ParamValues,
  view: DataView,
  byteOffset: number,
): void {
  fields.forEach(([name, type], i) => {
    const v = p[name] ?? 0;
    const at = byteOffset + 4 * i;
    if (type === 'f32') view.setFloat32(at, v, true);
    else if (type === 'i32') view.setInt32(at, v, true);
    else view.setUint32(at, v >>> 0, true);
  });
}

/** Packs the CCE- kernels' params into `view` at `byteOffset` in the struct's order. */
export function packParams(p: Params, view: DataView, byteOffset: number): void {
  packParamFields(PARAM_FIELDS, p, view, byteOffset);
}

/** Storage bindings of the forward row and target kernels: inputs, then the per-row outputs. */
export const FORWARD_ROW_BINDINGS: readonly [string, 'read' | 'rw', string][] = [
  ['hidden', 'read', 'f32'],
  ['items', 'read', 'f32'],
  ['targets', 'read', 'i32'],
  ['lse', 'rw', 'f32'],
  ['loss', 'rw', 'f32'],
];

/** Storage bindings of the backward row and target kernels: inputs, then the gradients (dItems by atomics). */
export const BACKWARD_ROW_BINDINGS: readonly [string, 'read' | 'rw', string][] = [
  ['hidden', 'read', 'f32'],
  ['items', 'read', 'f32'],
  ['targets', 'read', 'i32'],
  ['lse', 'read', 'f32'],
  ['dloss', 'read', 'f32'],
  ['d_hidden', 'rw', 'f32'],
  ['d_items', 'rw', 'atomic<u32>'],
];

/** WGSL declarations of storage bindings 1… from (name, kind, element type). */
export function bindingsWGSL(decls: readonly [string, 'read' | 'rw', string][]): string {
  return decls
    .map(
      ([name, kind, elem], i) =>
        `@group(0) @binding(${i + 1}) var<storage, ${kind === 'read' ? 'read' : 'read_write'}> ${name}: array<${elem}>;`,
    )
    .join('\n');
}
