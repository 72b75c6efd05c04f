/** The tile programs (share 'block'/'batch', negatives 'all'): online lse, dHidden, dItems. */
import { cpuSubgroupSize, layoutOf } from './layout.js';
import { negBindingCount } from './negatives.js';
import type { BindingKind, WgslProgram } from './program.js';
import {
  TILE_CPU_SUBGROUPS,
  TILE_WG,
  type TileShaderConfig,
  tileCpuLanes,
  tileOwnBindings,
  tileWGSL,
} from './tile.wgsl.js';

export class TileProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingKind[];

  /**
   * Bindings after params — lse: hidden, items, targets, lse (state), loss (state); grad-hidden:
   * hidden, items, targets, lse, dLoss, dHidden; grad-items: …, dItems (scratch mode: the partial
   * sums' scratch); then the sampler's buffers.
   */
  constructor(private readonly cfg: TileShaderConfig) {
    const neg = cfg.neg ? `${cfg.neg.kind}/${cfg.neg.logQ ? 'logq' : 'nologq'}` : 'all';
    const cpu = cfg.subgroup ? `/cpu/sg${cfg.subgroup}${cfg.vec4 ? '/vec4' : ''}` : '';
    this.key = `tile/${cfg.kernel}/${neg}/${cfg.removeHits ? 'hits' : 'nohits'}/tr${cfg.tr}/tk${cfg.tk}/dc${cfg.dc}/${cfg.scratch ? 'scratch' : cfg.atomicItems ? 'atomic' : 'plain'}/${cfg.act ?? 'f32'}${cpu}`;
    this.workgroupSize = cfg.subgroup ? tileCpuLanes(cfg) : TILE_WG;
    const own = tileOwnBindings(cfg).map(([, k]) => k);
    const sampler = cfg.neg ? negBindingCount(cfg.neg) : 0;
    this.bindings = ['uniform', ...own, ...Array<BindingKind>(sampler).fill('read')];
  }

  code(): string {
    return tileWGSL(this.cfg);
  }
}

/** The part of a {@link TileShaderConfig} that picks the kernel for a device. */
export type TileVariant = Pick<TileShaderConfig, 'subgroup' | 'vec4'>;

/**
 * The tile kernels' variant on `device` for hidden/items rows of D: in layout 'cpu' where the
 * device has one subgroup size the kernels are built for ({@link TILE_CPU_SUBGROUPS}), the
 * subgroup kernel (vec4 loads where D is a multiple of 4); else the workgroup-memory kernel.
 * $CUTREC_WGSL_SUBGROUPS=0 keeps the workgroup-memory kernel (wgsl/layout.ts cpuSubgroupSize).
 */
export function tileVariant(device: GPUDevice, D: number): TileVariant {
  if (layoutOf(device) !== 'cpu') return {};
  const subgroup = cpuSubgroupSize(device);
  if (!TILE_CPU_SUBGROUPS.includes(subgroup)) return {};
  return { subgroup, vec4: D % 4 === 0 };
}
