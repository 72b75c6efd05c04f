/** The share 'row' programs (per-row negatives): online lse, and gradients. */

import { cpuSubgroupSize, layoutOf } from './layout.js';
import { negBindingCount } from './negatives.js';
import type { BindingKind, WgslProgram } from './program.js';
import { ROW_WG, type RowShaderConfig, rowWGSL } from './row.wgsl.js';
import { rowCpuWGSL } from './row-cpu.wgsl.js';

export class RowProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingKind[];

  /**
   * Bindings after params — forward: hidden, items, targets, lse (state), loss (state);
   * backward: hidden, items, targets, lse, dLoss, dHidden, dItems; then the sampler's buffers;
   * then, with vec4, hidden and items again (as vec4).
   */
  constructor(private readonly cfg: RowShaderConfig) {
    const cpu = cfg.subgroup ? `/cpu/sg${cfg.subgroup}` : '';
    this.key = `row/${cfg.backward ? 'bwd' : 'fwd'}/${cfg.neg.kind}/${cfg.neg.logQ ? 'logq' : 'nologq'}/${cfg.removeHits ? 'hits' : 'nohits'}/${cfg.vec4 ? 'vec4' : 'scalar'}/${cfg.act ?? 'f32'}${cpu}`;
    this.workgroupSize = cfg.subgroup || ROW_WG;
    const own: BindingKind[] = cfg.backward
      ? ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw']
      : ['uniform', 'read', 'read', 'read', 'rw', 'rw'];
    this.bindings = [
      ...own,
      ...Array<BindingKind>(negBindingCount(cfg.neg)).fill('read'),
      ...(cfg.vec4 ? (['read', 'read'] as const) : []),
    ];
  }

  code(): string {
    return this.cfg.subgroup ? rowCpuWGSL(this.cfg, this.cfg.subgroup) : rowWGSL(this.cfg);
  }
}

/**
 * The subgroup size of the row kernels on `device`: in layout 'cpu' where the device has one
 * subgroup size the 'cpu' kernels are built for (wgsl/layout.ts cpuSubgroupSize), that size (the
 * kernels of row-cpu.wgsl.ts); else 0 (the workgroup-memory kernels of row.wgsl.ts).
 * $CUTREC_WGSL_SUBGROUPS=0 keeps the workgroup-memory kernels.
 */
export function rowSubgroup(device: GPUDevice): number {
  return layoutOf(device) === 'cpu' ? cpuSubgroupSize(device) : 0;
}
