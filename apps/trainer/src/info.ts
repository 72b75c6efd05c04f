import { fusedCudaUnavailableReason } from '@cutrec/models';
import {
  type CudaDeviceInfo,
  createDevice,
  cublasLtInfo,
  cublasLtUnavailableReason,
  cudaDevices,
  cudaUnavailableReason,
  type DeviceInfo,
  deviceInfo,
} from '@cutrec/tensor';

/** What `cutrec info` reports: devices found and which backends are usable. */
export interface InfoReport {
  cutrec: string;
  node: string;
  platform: string;
  backends: { name: 'webgpu' | 'cpu' | 'cuda'; usable: boolean; reason?: string }[];
  /**
   * Training engines: the fused step (on CUDA with cuBLASLt or our own GEMMs, or on WebGPU) and
   * tfjs; `precisions`: the fused engine's `--precision` values usable here (bf16 on CUDA sm_80+,
   * f16 on a WebGPU adapter with 'shader-f16').
   */
  engines: {
    name: 'fused' | 'tfjs';
    usable: boolean;
    reason?: string;
    gemm?: string;
    precisions?: ('fp32' | 'bf16' | 'f16')[];
  }[];
  webgpu: DeviceInfo | null;
  cuda: CudaDeviceInfo[];
}

/** Probes the machine: the WebGPU adapter (with limits and features), the CPU, and CUDA. */
export async function collectInfo(version: string): Promise<InfoReport> {
  let webgpu: DeviceInfo | null = null;
  let webgpuReason: string | undefined;
  try {
    const device = await createDevice();
    webgpu = deviceInfo(device);
    device.destroy();
  } catch (err) {
    webgpuReason = (err as Error).message;
  }
  const cudaReason = cudaUnavailableReason();
  const cuda = cudaReason ? [] : cudaDevices();
  return {
    cutrec: version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backends: [
      webgpu
        ? { name: 'webgpu', usable: true }
        : { name: 'webgpu', usable: false, reason: webgpuReason ?? 'unknown' },
      { name: 'cpu', usable: true },
      cudaReason ? { name: 'cuda', usable: false, reason: cudaReason } : { name: 'cuda', usable: true },
    ],
    engines: [fusedEngine(webgpu), { name: 'tfjs', usable: true }],
    webgpu,
    cuda,
  };
}

function fusedEngine(webgpu: DeviceInfo | null): InfoReport['engines'][number] {
  const reason = fusedCudaUnavailableReason();
  // f16 is the fused engine on WebGPU (even where CUDA is usable), on adapters with 'shader-f16'.
  const f16 = webgpu?.features.includes('shader-f16') ? (['f16'] as const) : [];
  if (reason && webgpu) {
    return {
      name: 'fused',
      usable: true,
      gemm: `WGSL kernels on WebGPU, fp32${f16.length ? ', or f16 with --precision f16 (shader-f16)' : ' (no shader-f16: no --precision f16)'} (--engine auto and fused pick it here). CUDA: ${reason}`,
      precisions: ['fp32', ...f16],
    };
  }
  if (reason) return { name: 'fused', usable: false, reason };
  const lt = cublasLtInfo();
  const gemm = lt
    ? `cuBLASLt ${lt.version} (${lt.path})`
    : `our own tiled GEMM kernels (cuBLASLt not found: ${cublasLtUnavailableReason() ?? 'unknown'})`;
  const bf16 = (cudaDevices()[0]?.major ?? 0) >= 8 ? (['bf16'] as const) : [];
  return { name: 'fused', usable: true, gemm, precisions: ['fp32', ...bf16, ...f16] };
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** The report as text for a terminal. */
export function formatInfo(r: InfoReport): string {
  const out: string[] = [];
  out.push(`cutrec ${r.cutrec} (node ${r.node}, ${r.platform})`, '', 'backends:');
  for (const b of r.backends) {
    out.push(
      `  ${b.name.padEnd(7)} ${b.usable ? 'usable' : 'not usable'}${b.reason ? `: ${b.reason.split('\n').join('\n           ')}` : ''}`,
    );
  }
  out.push('', 'engines:');
  for (const e of r.engines) {
    out.push(`  ${e.name.padEnd(7)} ${e.usable ? 'usable' : 'not usable'}${e.reason ? `: ${e.reason}` : ''}`);
    if (e.gemm) out.push(`          GEMMs: ${e.gemm}`);
    if (e.precisions)
      out.push(
        `          --precision: ${e.precisions.join(', ')}${e.precisions.includes('f16') ? ' (f16: on WebGPU)' : ''}`,
      );
  }
  if (r.webgpu) {
    const w = r.webgpu;
    out.push('', 'WebGPU adapter:');
    out.push(`  vendor        ${w.vendor || '?'}`);
    out.push(`  architecture  ${w.architecture || '?'}`);
    out.push(`  description   ${w.description || '?'}`);
    out.push(`  runtime       ${w.runtime}`);
    out.push(`  features      ${w.features.join(', ')}`);
    out.push('  limits:');
    for (const [k, v] of Object.entries(w.limits)) {
      out.push(`    ${k.padEnd(36)} ${k.endsWith('Size') && v >= 2 ** 20 ? `${v} (${mib(v)})` : v}`);
    }
  }
  for (const d of r.cuda) {
    out.push('', `CUDA device ${d.ordinal}:`);
    for (const [k, v] of Object.entries(d)) if (k !== 'api') out.push(`  ${k.padEnd(28)} ${v}`);
  }
  return out.join('\n');
}
