/** The environment a result was measured in: device, driver, versions, date and the exact command. */
import { createRequire } from 'node:module';
import {
  type CudaDeviceInfo,
  cudaAvailable,
  cudaDevices,
  cudaUnavailableReason,
  type DeviceInfo,
  deviceInfo,
} from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

/** Everything a result file records about where and how it was made. */
export interface BenchEnvironment {
  /** A short name of the card the numbers come from (the CUDA device's name, else the WebGPU adapter's). */
  card: string;
  /** tfjs backend the tfjs/WGSL numbers ran on. */
  backend: string;
  webgpu: DeviceInfo | null;
  cuda: CudaDeviceInfo | null;
  /** Why CUDA is not used, where it is not. */
  cudaUnavailable?: string;
  /** The driver: the CUDA driver version and/or the WebGPU adapter's description (it names the Vulkan driver). */
  driver: string;
  versions: Record<string, string>;
  date: string;
  command: string;
}

function version(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Versions of node, the cutrec packages and tfjs. */
export function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version, tfjs: tf.version_core };
  for (const p of [
    '@cutrec/bench',
    '@cutrec/kernels',
    '@cutrec/tensor',
    '@cutrec/models',
    '@cutrec/data',
    '@cutrec/sampler',
  ]) {
    out[p] = p === '@cutrec/bench' ? (require('../package.json') as { version: string }).version : version(p);
  }
  out['@tensorflow/tfjs-backend-webgpu'] = version('@tensorflow/tfjs-backend-webgpu');
  return out;
}

/** The command line as typed (program name and arguments, quoted where needed). */
export function commandLine(argv: readonly string[] = process.argv): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['cutrec-bench', ...argv.slice(2)].map(quote).join(' ');
}

/** The CUDA device 0, or null with the reason. */
export function cudaDevice(): { device: CudaDeviceInfo | null; reason?: string } {
  if (!cudaAvailable()) return { device: null, reason: cudaUnavailableReason() ?? 'CUDA unavailable' };
  return { device: cudaDevices()[0] ?? null };
}

/** A file-name-safe slug of a card name ('NVIDIA H100 80GB HBM3' → 'nvidia-h100-80gb-hbm3'). */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'device'
  );
}

/** Describes the environment: `gpu` is the WebGPU device tfjs runs on (null on the CPU backend). */
export function environment(gpu: GPUDevice | null): BenchEnvironment {
  const webgpu = gpu ? deviceInfo(gpu) : null;
  const { device: cuda, reason } = cudaDevice();
  const webgpuName = webgpu ? webgpu.description || `${webgpu.vendor} ${webgpu.architecture}`.trim() : '';
  const card = cuda?.name ?? (webgpuName.split(':')[0]!.trim() || 'cpu');
  const driver = [
    cuda ? `CUDA driver ${Math.floor(cuda.driverVersion / 1000)}.${(cuda.driverVersion % 1000) / 10}` : '',
    webgpu ? `WebGPU: ${webgpu.description || webgpu.vendor}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    card,
    backend: tf.getBackend(),
    webgpu,
    cuda,
    ...(reason ? { cudaUnavailable: reason } : {}),
    driver: driver || 'none',
    versions: versions(),
    date: new Date().toISOString(),
    command: commandLine(),
  };
}
