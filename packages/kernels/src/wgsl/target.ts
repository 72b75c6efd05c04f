/** The target-logit programs: finish the forward's lse and loss; start the backward's gradients. */
import type { BindingKind, WgslProgram } from './program.js';
import { type TargetShaderConfig, targetWGSL } from './target.wgsl.js';

export class TargetProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = 64;
  readonly bindings: readonly BindingKind[];

  /** Bindings after params — forward: hidden, items, targets, lse, loss; backward: hidden, items, targets, lse, dLoss, dHidden, dItems. */
  constructor(private readonly cfg: TargetShaderConfig) {
    this.key = `target/${cfg.backward ? 'bwd' : 'fwd'}/${cfg.all ? 'all' : 'sampled'}`;
    this.bindings = cfg.backward
      ? ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw']
      : ['uniform', 'read', 'read', 'read', 'rw', 'rw'];
  }

  code(): string {
    return targetWGSL(this.cfg);
  }
}
