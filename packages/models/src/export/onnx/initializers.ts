/** SASRec's weights as ONNX initializers: one float32 initializer per parameter, named as in checkpoints. */
import type { ResolvedSASRecConfig } from '../../config.js';
import { parameterSpecs, type SASRec } from '../../sasrec.js';
import type { GraphBuilder } from './graph.js';

/** One parameter's values on the host. */
export interface HostWeight {
  shape: number[];
  data: Float32Array;
}

/** The parameters of `model` as host arrays by name (what {@link addWeights} takes). */
export async function modelWeights(model: SASRec): Promise<Record<string, HostWeight>> {
  const out: Record<string, HostWeight> = {};
  for (const p of model.parameters) {
    out[p.name] = {
      shape: [...p.variable.shape],
      data: Float32Array.from(await p.variable.data<'float32'>()),
    };
  }
  return out;
}

/**
 * Adds every parameter of `config` (in the model's fixed order) to `b` as a float32 initializer
 * named after it; throws naming the parameter when one is missing, has another shape, or holds a
 * non-finite value. Returns the initializer name by parameter name.
 */
export function addWeights(
  b: GraphBuilder,
  config: ResolvedSASRecConfig,
  weights: Record<string, HostWeight>,
): Map<string, string> {
  const names = new Map<string, string>();
  for (const spec of parameterSpecs(config)) {
    const w = weights[spec.name];
    if (!w) throw new Error(`ONNX export: no weights for parameter '${spec.name}'`);
    if (w.shape.length !== spec.shape.length || w.shape.some((d, i) => d !== spec.shape[i])) {
      throw new RangeError(
        `ONNX export: parameter '${spec.name}' has shape [${w.shape}], the config needs [${spec.shape}]`,
      );
    }
    for (let i = 0; i < w.data.length; i++) {
      if (!Number.isFinite(w.data[i]!)) {
        throw new RangeError(`ONNX export: parameter '${spec.name}' holds ${w.data[i]} at index ${i}`);
      }
    }
    names.set(spec.name, b.initializer(spec.name, 'float', spec.shape, w.data));
  }
  return names;
}
