/** The share 'row' programs (per-row negatives): online lse, and gradients. */

import { negBindingCount } from './negatives.js';
import type { BindingKind, WgslProgram } from './program.js';
import { ROW_WG, type RowShaderConfig, rowWGSL } from './row.wgsl.js';

export class RowProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = ROW_WG;
  readonly bindings: readonly BindingKind[];

  /**
   * Bindings after params — forward: hidden, items, targets, lse (state), loss (state);
   * backward: hidden, items, targets, lse, dLoss, dHidden, dItems; then the sampler's buffers;
   * then, with vec4, hidden and items again (as vec4).
   */
  constructor(private readonly cfg: RowShaderConfig) {
    this.key = `row/${cfg.backward ? 'bwd' : 'fwd'}/${cfg.neg.kind}/${cfg.neg.logQ ? 'logq' : 'nologq'}/${cfg.removeHits ? 'hits' : 'nohits'}/${cfg.vec4 ? 'vec4' : 'scalar'}`;
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
    return rowWGSL(this.cfg);
  }
}
