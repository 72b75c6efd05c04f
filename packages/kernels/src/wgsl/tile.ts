/** The tile programs (share 'block'/'batch', negatives 'all'): online lse, dHidden, dItems. */
import { negBindingCount } from './negatives.js';
import type { BindingKind, WgslProgram } from './program.js';
import { TILE_WG, type TileShaderConfig, tileOwnBindings, tileWGSL } from './tile.wgsl.js';

export class TileProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = TILE_WG;
  readonly bindings: readonly BindingKind[];

  /**
   * Bindings after params — lse: hidden, items, targets, lse (state), loss (state); grad-hidden:
   * hidden, items, targets, lse, dLoss, dHidden; grad-items: …, dItems; then the sampler's buffers.
   */
  constructor(private readonly cfg: TileShaderConfig) {
    const neg = cfg.neg ? `${cfg.neg.kind}/${cfg.neg.logQ ? 'logq' : 'nologq'}` : 'all';
    this.key = `tile/${cfg.kernel}/${neg}/${cfg.removeHits ? 'hits' : 'nohits'}/tr${cfg.tr}/tk${cfg.tk}/dc${cfg.dc}/${cfg.atomicItems ? 'atomic' : 'plain'}`;
    const own = tileOwnBindings(cfg).map(([, k]) => k);
    const sampler = cfg.neg ? negBindingCount(cfg.neg) : 0;
    this.bindings = ['uniform', ...own, ...Array<BindingKind>(sampler).fill('read')];
  }

  code(): string {
    return tileWGSL(this.cfg);
  }
}
