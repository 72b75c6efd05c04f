/** The cuBLASLt path of the linear op: @cutrec/tensor's `GemmPlan` under the names this folder uses. */
import { type CudaContext, cublasLtUnavailableReason, type GemmDesc, GemmPlan } from '@cutrec/tensor';

/** cuBLASLt semantics, column-major: D = alpha·op(A)·op(B) + beta·C. */
export type LtGemmDesc = GemmDesc;
export type LtGemmPlan = GemmPlan;

/** Why cuBLASLt cannot be used here, or undefined when it can. */
export function ltUnavailableReason(): string | undefined {
  try {
    return cublasLtUnavailableReason();
  } catch (e) {
    return `cuBLASLt unavailable: ${(e as Error).message}`;
  }
}

/** A cuBLASLt plan for `desc` in `context`; throws when cuBLASLt has no algorithm for it. */
export function ltPlan(desc: LtGemmDesc, context: CudaContext): LtGemmPlan {
  return new GemmPlan(desc, context);
}
