/** Start-up shared by the commands: tfjs on WebGPU (or the CPU), the environment record, the output folder. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BackendChoice, setupTfjs } from '@cutrec/tensor';
import { type BenchEnvironment, environment, slug } from './env.js';

/** A ready tfjs backend, its WebGPU device (null on the CPU) and the environment record. */
export interface BenchSetup {
  device: GPUDevice | null;
  env: BenchEnvironment;
  /** Display names of the WebGPU and CUDA devices for result rows. */
  webgpuName: string;
  cudaName: string;
}

/** Sets tfjs up on `backend` ('auto': WebGPU where an adapter exists) and describes the environment. */
export async function benchSetup(backend: BackendChoice): Promise<BenchSetup> {
  if (!['webgpu', 'cpu', 'auto'].includes(backend)) {
    throw new RangeError(`--backend must be webgpu, cpu or auto, got ${JSON.stringify(backend)}`);
  }
  const s = await setupTfjs({ backend });
  const device = s.device ?? null;
  const env = environment(device);
  const webgpuName = env.webgpu
    ? env.webgpu.description || env.webgpu.vendor || 'webgpu'
    : `tfjs ${env.backend}`;
  return { device, env, webgpuName, cudaName: env.cuda?.name ?? 'cuda' };
}

/**
 * Where results go without `--out`: bench-results/<card>-<date> under the current directory (never
 * inside the installed package or the repository's committed apps/bench/results).
 */
export function defaultOutputDir(env: BenchEnvironment, cwd = process.cwd()): string {
  return join(cwd, 'bench-results', `${slug(env.card)}-${env.date.slice(0, 10)}`);
}

/** `--out` if given, else {@link defaultOutputDir}. Created. */
export function outputDir(out: string | undefined, env: BenchEnvironment): string {
  const dir = out ? resolve(out) : defaultOutputDir(env);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `text` to `dir/name` and returns the path. */
export function writeResult(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
  return path;
}
