/** The target-logit programs: finish the forward's lse and loss; start the backward's gradients. */
import { layoutOf } from './layout.js';
import type { BindingKind, WgslProgram } from './program.js';
import { TARGET_CPU_ROWS, type TargetShaderConfig, targetWGSL } from './target.wgsl.js';

export class TargetProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = 64;
  readonly bindings: readonly BindingKind[];

  /** Bindings after params — forward: hidden, items, targets, lse, loss; backward: hidden, items, targets, lse, dLoss, dHidden, dItems. */
  constructor(private readonly cfg: TargetShaderConfig) {
    this.key = `target/${cfg.backward ? 'bwd' : 'fwd'}/${cfg.all ? 'all' : 'sampled'}${cfg.cpu ? '/cpu' : ''}/${cfg.act ?? 'f32'}`;
    this.bindings = cfg.backward
      ? ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw']
      : ['uniform', 'read', 'read', 'read', 'rw', 'rw'];
  }

  code(): string {
    return targetWGSL(this.cfg);
  }

  /** Workgroups for `rows` rows: one per row, or one per {@link TARGET_CPU_ROWS} rows in layout 'cpu'. */
  units(rows: number): number {
    return this.cfg.cpu ? Math.ceil(rows / TARGET_CPU_ROWS) : rows;
  }
}

/** Whether the target kernels on `device` are the 'cpu' ones (a row per invocation). */
export function targetCpu(device: GPUDevice): boolean {
  return layoutOf(device) === 'cpu';
}
