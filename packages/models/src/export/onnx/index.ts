/**
 * `@cutrec/models/onnx`: a trained SASRec as an ONNX inference graph (opset 17) with TopK and an
 * exclusion input, its `model.ids.json`, and the pieces (graph description, weights, encoder).
 * Encoding needs the optional peer dependency `onnx-proto`; running the model needs none of cutrec.
 */
import type { ResolvedSASRecConfig } from '../../config.js';
import type { SASRec } from '../../sasrec.js';
import { encodeOnnxModel } from './encode.js';
import { type HostWeight, modelWeights } from './initializers.js';
import { ONNX_OPSET, type SasrecOnnxOptions, sasrecOnnxGraph } from './sasrec-graph.js';

export { encodeOnnxModel, ONNX_IR_VERSION, ONNX_MAX_BYTES, type OnnxModelInfo } from './encode.js';
export {
  GraphBuilder,
  ONNX_DTYPE,
  type OnnxAttribute,
  type OnnxDim,
  type OnnxDtype,
  type OnnxGraph,
  type OnnxInitializer,
  type OnnxNode,
  type OnnxValueInfo,
} from './graph.js';
export { historyRow, type OnnxIdsFile, onnxIdsFile } from './ids.js';
export { addWeights, type HostWeight, modelWeights } from './initializers.js';
export { ONNX_IO, ONNX_OPSET, type SasrecOnnxOptions, sasrecOnnxGraph } from './sasrec-graph.js';

/** Options of {@link exportSasrecOnnx}. */
export interface ExportOnnxOptions extends SasrecOnnxOptions {
  /** ModelProto.producer_version. Default '0'. */
  producerVersion?: string;
  /** Extra ModelProto metadata entries (the exporter adds cutrec.config, cutrec.padding, cutrec.maxLen, cutrec.k). */
  metadata?: Record<string, string>;
}

/** ONNX ModelProto bytes of a SASRec given by its config and host weights (see {@link sasrecOnnxGraph}). */
export async function exportSasrecWeightsOnnx(
  config: ResolvedSASRecConfig,
  weights: Record<string, HostWeight>,
  options: ExportOnnxOptions,
): Promise<Uint8Array> {
  const graph = sasrecOnnxGraph(config, weights, options);
  return encodeOnnxModel(graph, {
    opset: ONNX_OPSET,
    producerVersion: options.producerVersion ?? '0',
    doc: graph.doc,
    metadata: {
      'cutrec.config': JSON.stringify(config),
      'cutrec.padding': String(config.numItems),
      'cutrec.maxLen': String(config.maxLen),
      'cutrec.k': String(options.k),
      ...options.metadata,
    },
  });
}

/** ONNX ModelProto bytes of `model` (eval mode: no dropout), top `options.k` per row. */
export async function exportSasrecOnnx(model: SASRec, options: ExportOnnxOptions): Promise<Uint8Array> {
  return exportSasrecWeightsOnnx(model.config, await modelWeights(model), options);
}
