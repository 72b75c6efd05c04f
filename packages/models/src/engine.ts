/**
 * One training API over both engines: the tfjs `Trainer` (autograd over tfjs ops; the oracle and
 * the CPU path) and the `FusedTrainer` (our own step over device buffers). The apps train,
 * evaluate and checkpoint through this interface only.
 */
import type { Example } from '@cutrec/data';
import type { Checkpointable } from './checkpoint/checkpoint.js';
import type { ResolvedSASRecConfig } from './config.js';
import type { Batch } from './train.js';

/** Which engine runs the step. */
export type EngineName = 'tfjs' | 'fused';

/** Options of {@link TrainingEngine.evaluate}. */
export interface EngineEvaluateOptions {
  ks: readonly number[];
  removeSeen: boolean;
  /** Users per forward pass (tfjs engine). */
  batchSize?: number;
  /** Awaited before each batch of users: a caller's chance to yield to the event loop, or to stop by throwing. */
  beforeBatch?: () => Promise<void>;
}

/** A SASRec trainer of either engine. */
export interface TrainingEngine extends Checkpointable {
  readonly engine: EngineName;
  readonly config: ResolvedSASRecConfig;
  /** Steps completed (the stream of negatives and dropout). */
  readonly step: number;
  /** One optimisation step; resolves to the batch's mean loss before the update. */
  trainStepAsync(batch: Batch): Promise<number>;
  /** The learning rate the next step uses. */
  currentLr(): number;
  /** Full-catalog ranking metrics of the current model on `examples`. */
  evaluate(examples: readonly Example[], options: EngineEvaluateOptions): Promise<Record<string, number>>;
  dispose(): void;
}
