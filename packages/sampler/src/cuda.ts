/**
 * The CUDA sources of the sampler: as strings (for NVRTC or embedding) and as files shipped in the
 * package (`@cutrec/sampler/cuda/*`) for nvcc's `-I`.
 */
import { philoxCUDA, samplerCUDA } from './cuda.generated.js';

export { philoxCUDA, samplerCUDA };

/** The headers by include name, e.g. for NVRTC's headers/includeNames: { 'philox.cuh', 'sampler.cuh' }. */
export const cudaHeaders: Readonly<Record<string, string>> = Object.freeze({
  'philox.cuh': philoxCUDA,
  'sampler.cuh': samplerCUDA,
});

/**
 * The absolute directory holding `philox.cuh` and `sampler.cuh` (pass it to nvcc as `-I`); throws
 * where the package is not loaded from the file system (e.g. bundled for a browser).
 */
export function cudaIncludeDir(): string {
  const url = new URL('../cuda/', import.meta.url);
  if (url.protocol !== 'file:') {
    throw new Error(
      `cudaIncludeDir: @cutrec/sampler was loaded from ${url.protocol} URL, not files; use cudaHeaders`,
    );
  }
  let path = decodeURIComponent(url.pathname);
  if (/^\/[A-Za-z]:\//.test(path)) path = path.slice(1).replaceAll('/', '\\'); // Windows drive path
  return path.endsWith('/') || path.endsWith('\\') ? path.slice(0, -1) : path;
}
