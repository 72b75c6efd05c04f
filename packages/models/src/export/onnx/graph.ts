/**
 * A plain, protobuf-free description of an ONNX graph (nodes, initializers, typed inputs and
 * outputs) and a small builder that names every intermediate value. The encoder turns it into
 * ModelProto bytes; tests and callers can inspect it without any protobuf library.
 */

/** Element types the exporter uses (values are ONNX TensorProto.DataType codes). */
export const ONNX_DTYPE = { float: 1, int64: 7, bool: 9 } as const;

/** An element type name of {@link ONNX_DTYPE}. */
export type OnnxDtype = keyof typeof ONNX_DTYPE;

/** A dimension: a fixed size, or a symbolic name (dynamic, e.g. 'batch'). */
export type OnnxDim = number | string;

/** A graph input or output: name, element type and shape. */
export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDtype;
  shape: OnnxDim[];
  doc?: string;
}

/** A constant tensor stored in the model file. */
export interface OnnxInitializer {
  name: string;
  dtype: OnnxDtype;
  dims: number[];
  data: Float32Array | BigInt64Array | Uint8Array;
}

/** An attribute value: int, float, ints, or string. */
export type OnnxAttribute = number | number[] | string | { float: number };

/** One operator call. */
export interface OnnxNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

/** A whole graph: what the encoder writes. */
export interface OnnxGraph {
  name: string;
  doc: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxInitializer[];
  nodes: OnnxNode[];
}

/** Builds an {@link OnnxGraph} node by node; intermediate values get unique names from a prefix. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private readonly used = new Set<string>();
  private count = 0;

  /** A fresh value name starting with `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.count}`;
    this.used.add(name);
    return name;
  }

  /** Adds an initializer called `name` (which must be unique) and returns its name. */
  initializer(name: string, dtype: OnnxDtype, dims: number[], data: OnnxInitializer['data']): string {
    if (this.used.has(name)) throw new Error(`GraphBuilder: the name '${name}' is taken`);
    return this.constant(name, dtype, dims, data);
  }

  private constant(name: string, dtype: OnnxDtype, dims: number[], data: OnnxInitializer['data']): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new RangeError(
        `GraphBuilder: initializer '${name}' has ${data.length} values, dims [${dims}] need ${size}`,
      );
    }
    this.used.add(name);
    this.initializers.push({ name, dtype, dims, data });
    return name;
  }

  /** A float32 constant (scalar when `dims` is []). */
  floats(
    hint: string,
    values: ArrayLike<number>,
    dims: number[] = values.length === 1 ? [] : [values.length],
  ): string {
    return this.constant(this.fresh(hint), 'float', dims, Float32Array.from(values));
  }

  /** An int64 constant (1-D unless `dims` says otherwise). */
  ints(hint: string, values: readonly number[], dims: number[] = [values.length]): string {
    return this.constant(
      this.fresh(hint),
      'int64',
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
  }

  /** Adds `op` on `inputs` ('' for an omitted optional input); returns its `outputs` fresh names. */
  op(
    op: string,
    inputs: string[],
    attributes: Record<string, OnnxAttribute> = {},
    outputs: string[] | number = 1,
    hint = op,
  ): string[] {
    const outs =
      typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(hint)) : outputs;
    for (const o of typeof outputs === 'number' ? [] : outs) this.used.add(o);
    this.nodes.push({ op, name: `${hint}_node${this.nodes.length}`, inputs, outputs: outs, attributes });
    return outs;
  }

  /** `op` with one output; returns its name. */
  op1(op: string, inputs: string[], attributes: Record<string, OnnxAttribute> = {}, hint = op): string {
    return this.op(op, inputs, attributes, 1, hint)[0]!;
  }

  /** Reserves a name for a graph input (so no intermediate value takes it). */
  input(name: string): string {
    if (this.used.has(name)) throw new Error(`GraphBuilder: the name '${name}' is taken`);
    this.used.add(name);
    return name;
  }
}
