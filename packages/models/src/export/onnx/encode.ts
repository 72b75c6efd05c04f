/**
 * An {@link OnnxGraph} as ONNX ModelProto bytes, through the `onnx-proto` package (the ONNX schema
 * compiled for protobufjs). `onnx-proto` is an optional peer dependency, loaded only here, so that
 * `@cutrec/models` alone does not pull protobufjs in.
 */
import {
  ONNX_DTYPE,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxInitializer,
  type OnnxValueInfo,
} from './graph.js';

/** The ONNX IR version written (IR 8 is what ONNX 1.12, the release of opset 17, writes). */
export const ONNX_IR_VERSION = 8;

/** The most initializer bytes one ModelProto can carry (protobuf messages are limited to 2 GiB). */
export const ONNX_MAX_BYTES = 2 ** 31 - 2 ** 24;

/** What a ModelProto carries besides the graph. */
export interface OnnxModelInfo {
  opset: number;
  producerVersion: string;
  doc?: string;
  /** Key-value metadata (ModelProto.metadata_props). */
  metadata?: Record<string, string>;
}

// biome-ignore lint/suspicious/noExplicitAny: onnx-proto's namespace is typed by its own d.ts, loaded lazily.
type OnnxNamespace = any;

let loaded: Promise<OnnxNamespace> | undefined;

/** onnx-proto's `onnx` namespace, or an error that says how to install it. */
function onnxProto(): Promise<OnnxNamespace> {
  loaded ??= import('onnx-proto').then(
    (m: { onnx?: OnnxNamespace; default?: { onnx?: OnnxNamespace } }) => {
      const ns = m.onnx ?? m.default?.onnx;
      if (!ns) throw new Error("the 'onnx-proto' package has no 'onnx' namespace");
      return ns;
    },
    (err: unknown) => {
      loaded = undefined;
      throw new Error(
        "ONNX export needs the 'onnx-proto' package (an optional peer dependency of @cutrec/models): npm install onnx-proto",
        { cause: err },
      );
    },
  );
  return loaded;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(data: OnnxInitializer['data']): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function attribute(ns: OnnxNamespace, name: string, v: OnnxAttribute) {
  const T = ns.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'object') return { name, type: T.FLOAT, f: v.float };
  if (!Number.isInteger(v))
    throw new TypeError(`ONNX attribute '${name}': ${v} is not an integer (use { float })`);
  return { name, type: T.INT, i: v };
}

function valueInfo(info: OnnxValueInfo) {
  return {
    name: info.name,
    ...(info.doc ? { docString: info.doc } : {}),
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[info.dtype],
        shape: { dim: info.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** The ModelProto bytes of `graph`; tensors are stored little-endian in raw_data. */
export async function encodeOnnxModel(graph: OnnxGraph, info: OnnxModelInfo): Promise<Uint8Array> {
  if (!LITTLE_ENDIAN)
    throw new Error('ONNX export: raw tensor data is little-endian; this host is big-endian');
  const bytes = graph.initializers.reduce((n, t) => n + t.data.byteLength, 0);
  if (bytes > ONNX_MAX_BYTES) {
    throw new RangeError(
      `ONNX export: the weights take ${(bytes / 2 ** 30).toFixed(2)} GiB; a protobuf ONNX file holds at most 2 GiB (external data is not written)`,
    );
  }
  const ns = await onnxProto();
  const model = ns.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: info.opset }],
    producerName: 'cutrec',
    producerVersion: info.producerVersion,
    ...(info.doc ? { docString: info.doc } : {}),
    metadataProps: Object.entries(info.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      docString: graph.doc,
      node: graph.nodes.map((n) => ({
        opType: n.op,
        name: n.name,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes).map(([k, v]) => attribute(ns, k, v)),
      })),
      initializer: graph.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: ONNX_DTYPE[t.dtype],
        rawData: bytesOf(t.data),
      })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return ns.ModelProto.encode(model).finish() as Uint8Array;
}
