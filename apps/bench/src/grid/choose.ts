/**
 * Which engine a grid trains with, on which device, and the tfjs backend its cell processes need:
 * `--engine auto` is the fused engine where @cutrec/models' `fusedDeviceKind` gives CUDA, or
 * where a WebGPU adapter is there, else the tfjs engine; `--precision auto` is fp32 (as `cutrec
 * train`'s), bf16 only on CUDA, f16 the fused engine on WebGPU (an adapter with 'shader-f16'),
 * even where CUDA is usable (as `cutrec train --precision f16`).
 */
import { fusedDeviceKind } from '@cutrec/models';

/** What the grid's cells train with. */
export interface GridEngine {
  engine: 'fused' | 'tfjs';
  /** The fused engine's device (for tfjs: unused, 'host'). */
  device: 'cuda' | 'webgpu' | 'host';
  /** bf16: CUDA's half precision; f16: WebGPU's. */
  precision: 'fp32' | 'bf16' | 'f16';
  /** The tfjs backend of each cell's process. */
  backend: 'cpu' | 'webgpu' | 'auto';
  /** Why auto did not pick the fused engine, or why the fused engine is not on CUDA. */
  reason?: string;
}

/** The options {@link chooseGridEngine} reads. */
export interface GridEngineRequest {
  engine: 'auto' | 'fused' | 'tfjs';
  precision: 'auto' | 'fp32' | 'bf16' | 'f16';
  /** The fused engine's device: auto, or cuda / webgpu / host (host: the float64 references, for tests). */
  fusedDevice: 'auto' | 'cuda' | 'webgpu' | 'host';
  /** The `--backend` asked for (the tfjs engine's backend; 'cpu' rules out the fused engine on WebGPU). */
  backend: 'cpu' | 'webgpu' | 'auto';
}

/** The fused device the request leads to before looking for WebGPU: CUDA, or what was asked for, or undefined (WebGPU if there is one). */
export function fusedKindFirst(r: GridEngineRequest): {
  device?: 'cuda' | 'webgpu' | 'host';
  reason?: string;
} {
  if (r.fusedDevice !== 'auto') return { device: r.fusedDevice };
  // f16 is the WebGPU engine's half precision: WebGPU even where CUDA is usable.
  if (r.precision === 'f16') return { reason: '--precision f16 runs the fused engine on WebGPU' };
  const k = fusedDeviceKind();
  return k.device === 'cuda' ? { device: 'cuda' } : { ...(k.reason ? { reason: k.reason } : {}) };
}

/**
 * `--precision f16`: the fused engine on WebGPU, even where CUDA is usable (f16 is the WebGPU
 * engine's half precision, CUDA's is bf16); throws, naming the option, where it cannot run.
 */
function f16Engine(r: GridEngineRequest, webgpu: boolean, shaderF16: boolean): GridEngine {
  if (r.engine === 'tfjs')
    throw new RangeError('--precision f16 needs the fused engine on WebGPU (the tfjs engine is fp32)');
  if (r.fusedDevice === 'cuda' || r.fusedDevice === 'host')
    throw new RangeError(
      `--precision f16 runs the fused engine on WebGPU, not --fused-device ${r.fusedDevice} (on CUDA use bf16)`,
    );
  if (r.backend === 'cpu')
    throw new RangeError('--precision f16 runs the fused engine on WebGPU, which --backend cpu rules out');
  if (!webgpu)
    throw new RangeError(
      '--precision f16 runs the fused engine on WebGPU, and there is no WebGPU adapter here',
    );
  if (!shaderF16)
    throw new RangeError(
      "--precision f16 needs the WebGPU adapter's 'shader-f16' feature, which this one lacks: use --precision fp32",
    );
  return { engine: 'fused', device: 'webgpu', precision: 'f16', backend: 'webgpu' };
}

/**
 * Resolves the request, given whether a WebGPU adapter is usable here and whether its device has
 * 'shader-f16'; throws, naming the option, for what cannot run.
 */
export function chooseGridEngine(r: GridEngineRequest, webgpu: boolean, shaderF16 = false): GridEngine {
  const precision = r.precision === 'auto' ? 'fp32' : r.precision;
  if (precision === 'f16') return f16Engine(r, webgpu, shaderF16);
  if (r.engine === 'tfjs') {
    if (precision !== 'fp32') throw new RangeError('--precision bf16 needs the fused engine on CUDA');
    return { engine: 'tfjs', device: 'host', precision, backend: r.backend };
  }
  const first = fusedKindFirst(r);
  const device = first.device ?? (webgpu && r.backend !== 'cpu' ? 'webgpu' : undefined);
  if (!device) {
    const why = `CUDA is unusable (${first.reason ?? 'unknown'}) and there is no WebGPU adapter${r.backend === 'cpu' ? ' (--backend cpu)' : ''}`;
    if (r.engine === 'fused') throw new Error(`--engine fused: ${why}`);
    if (precision !== 'fp32') throw new RangeError(`--precision bf16 needs the fused engine on CUDA: ${why}`);
    return { engine: 'tfjs', device: 'host', precision, backend: r.backend, reason: why };
  }
  if (precision === 'bf16' && device !== 'cuda')
    throw new RangeError(`--precision bf16 needs CUDA; the fused engine runs on ${device} here`);
  return {
    engine: 'fused',
    device,
    precision,
    backend: device === 'webgpu' ? 'webgpu' : 'cpu',
    ...(first.reason && device !== 'cuda' ? { reason: first.reason } : {}),
  };
}
