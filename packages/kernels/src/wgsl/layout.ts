/**
 * How a WGSL kernel lays its work out on a device. On a GPU ('gpu'), a workgroup shares a row or a
 * tile through workgroup memory and barriers, with coalesced loads. On a software adapter ('cpu':
 * Mesa's lavapipe/llvmpipe, SwiftShader, WARP), a workgroup runs as SIMD lanes of one CPU thread
 * and every barrier is a coroutine switch of every lane group: there a kernel does best with no
 * barriers at all (an invocation owns a whole row; operands a subgroup's lanes share are loaded
 * once per subgroup, a piece per lane, and handed out by subgroupBroadcast, as in the GEMM). Measured on
 * lavapipe (packages/kernels/BENCHMARKS.md): layer norm 8–12× faster a row per invocation.
 */
import { deviceInfo } from '@cutrec/tensor';
import { tuning } from './tuning.js';

export type WgslLayout = 'gpu' | 'cpu';

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|warp|software/i;

/** Whether `device`'s adapter is a CPU (software) implementation, from its adapter info. */
export function isSoftwareAdapter(device: GPUDevice): boolean {
  const i = deviceInfo(device);
  return i.architecture === 'software' || SOFTWARE.test(`${i.device} ${i.description}`);
}

/**
 * The layout kernels use on `device`: {@link WgslTuning.layout} (tests) or $CUTREC_WGSL_LAYOUT
 * (`gpu` or `cpu`, for benchmarks) force one; else 'cpu' on a software adapter.
 */
export function layoutOf(device: GPUDevice): WgslLayout {
  return tuning().layout ?? envLayout() ?? (isSoftwareAdapter(device) ? 'cpu' : 'gpu');
}

function envLayout(): WgslLayout | undefined {
  const v = typeof process === 'undefined' ? undefined : process.env.CUTREC_WGSL_LAYOUT;
  if (v === undefined || v === '') return undefined;
  if (v === 'gpu' || v === 'cpu') return v;
  throw new Error(`CUTREC_WGSL_LAYOUT must be gpu or cpu, got "${v}"`);
}

/** Subgroup sizes the 'cpu' subgroup kernels (the GEMM, the CCE- tiles) are built for. */
export const CPU_SUBGROUP_SIZES: readonly number[] = [4, 8, 16];

/**
 * The subgroup size the 'cpu' subgroup kernels can rely on: the device has the 'subgroups' feature
 * and its adapter one subgroup size (min = max), one of {@link CPU_SUBGROUP_SIZES}; else 0, and 0
 * when $CUTREC_WGSL_SUBGROUPS=0 (tests, benchmarks: every kernel then does without subgroups).
 */
export function cpuSubgroupSize(device: GPUDevice): number {
  if (typeof process !== 'undefined' && process.env.CUTREC_WGSL_SUBGROUPS === '0') return 0;
  if (!device.features.has('subgroups')) return 0;
  const info = device.adapterInfo as (GPUAdapterInfo & { subgroupMaxSize?: number }) | undefined;
  const min = info?.subgroupMinSize;
  return min !== undefined && min === info?.subgroupMaxSize && CPU_SUBGROUP_SIZES.includes(min) ? min : 0;
}
