/**
 * Errors of the command line: interruptions (with an exit code), out-of-memory and broken-checkpoint
 * explanations, and how an error is printed.
 */

/** A run stopped by a signal after writing its checkpoint; exits with 128 + the signal number. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const OOM =
  /out of memory|\bOOM\b|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|buffer allocation fail|failed to allocate|allocation failed|device (was |is )?lost|DeviceLost|exceeds the max(imum)? (buffer|storage)|maxBufferSize|maxStorageBufferBindingSize|Array buffer allocation failed|Invalid typed array length/i;

/** Whether an error looks like a device (or host) running out of memory. */
export function isOutOfMemory(err: unknown): boolean {
  const e = err as { message?: unknown; name?: unknown };
  return OOM.test(String(e?.message ?? err)) || e?.name === 'GPUOutOfMemoryError';
}

/** The settings that size memory, with their current values. */
export interface MemorySettings {
  batchSize: number;
  maxLen: number;
  hidden: number;
  negatives: number | 'all';
  evalBatchSize: number;
}

/** An out-of-memory error rewritten to say which settings to lower; other errors unchanged. */
export function explainOutOfMemory(
  err: unknown,
  s: MemorySettings,
  during: 'training' | 'evaluation',
): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if (!isOutOfMemory(e)) return e;
  const lower =
    during === 'evaluation'
      ? [`eval.batchSize (now ${s.evalBatchSize}) in the config file`, `--hidden (now ${s.hidden})`]
      : [
          `--batch-size (now ${s.batchSize})`,
          `--max-len (now ${s.maxLen})`,
          s.negatives === 'all'
            ? '--loss cce- with --negatives K (full CE scores the whole catalog)'
            : `--negatives (now ${s.negatives}), or --share block`,
          `--hidden (now ${s.hidden})`,
        ];
  const out = new Error(
    `out of memory during ${during}: ${e.message.split('\n')[0]}\nlower one of: ${lower.join('; ')}`,
  );
  out.stack = e.stack;
  return out;
}

/** A checkpoint that cannot be decoded rewritten to name the file and what to do; other errors unchanged. */
export function explainCheckpointError(err: unknown, path: string, instead: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const detail = /safetensors: (.*)$/m.exec(e.message)?.[1];
  if (detail === undefined) return e;
  const out = new Error(`${path}: the checkpoint is truncated or corrupt (${detail}); ${instead}`);
  out.stack = e.stack;
  return out;
}

/** An error as the command prints it: its message without stack frames, or its whole stack with `verbose`. */
export function formatError(err: unknown, verbose: boolean): string {
  const e = err instanceof Error ? err : new Error(String(err));
  if (verbose && e.stack) return e.stack.includes(e.message) ? e.stack : `${e.message}\n${e.stack}`;
  const lines = e.message.split('\n').filter((l) => !/^\s+at /.test(l));
  return lines.join('\n');
}
