/**
 * How a run shows its progress: a cli-progress bar per epoch on a terminal, plain log lines
 * otherwise, nothing but the final lines with `--quiet`, and one JSON event per line on stdout
 * with `--json`.
 */
import cliProgress from 'cli-progress';
import type { Metrics, TrainEvent } from './events.js';

export type ReporterMode = 'tty' | 'plain' | 'quiet' | 'json';

/** The mode for the flags and the terminal: json > quiet > tty (stderr is a TTY) > plain. */
export function reporterMode(opts: { json?: boolean; quiet?: boolean }): ReporterMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'quiet';
  return process.stderr.isTTY ? 'tty' : 'plain';
}

function fmt(x: number | undefined, digits = 4): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

/** `ndcg@10 0.4123  hr@10 0.6010` for the keys given (those present). */
export function metricLine(m: Metrics, keys: readonly string[]): string {
  return keys
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k} ${fmt(m[k])}`)
    .join('  ');
}

function mib(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Receives a run's events and shows them in one of the {@link ReporterMode}s. */
export class Reporter {
  private bar: cliProgress.SingleBar | undefined;
  private readonly out: NodeJS.WritableStream;
  private keys: string[] = ['ndcg@10', 'hr@10'];

  constructor(
    readonly mode: ReporterMode,
    out: NodeJS.WritableStream = process.stdout,
  ) {
    this.out = out;
  }

  /** The metrics shown in lines (the early-stopping metric first). */
  setKeys(keys: string[]): void {
    this.keys = [...new Set(keys)];
  }

  private line(text: string): void {
    if (this.mode === 'json' || this.mode === 'quiet') return;
    this.out.write(`${text}\n`);
  }

  /** A note for people (not shown with --json or --quiet; warnings go to stderr). */
  info(text: string): void {
    this.line(text);
  }

  /** A warning: stderr in every mode. */
  warn(text: string): void {
    this.stopBar();
    process.stderr.write(`cutrec: warning: ${text}\n`);
  }

  /** Handles one event. */
  emit(e: TrainEvent): void {
    if (this.mode === 'json') {
      this.out.write(`${JSON.stringify(e)}\n`);
      return;
    }
    switch (e.event) {
      case 'start': {
        const d = e.dataset;
        this.line(
          `${e.resumed ? 'resuming' : 'training'} SASRec on ${d.name} (${d.users} users, ${d.items} items, ${d.interactions} interactions) — backend ${e.backend}${e.device ? ` (${e.device})` : ''}, ${e.engine} engine${e.precision ? ` ${e.precision}` : ''}`,
        );
        this.line(`run folder: ${e.runDir}`);
        this.line(`popularity baseline (valid): ${metricLine(e.popularity.valid, this.keys)}`);
        if (e.plantedBest)
          this.line(`planted best (test): ${metricLine(e.plantedBest, ['ndcg@10', 'hr@10'])}`);
        break;
      }
      case 'epoch':
        this.stopBar();
        this.line(
          `epoch ${e.epoch + 1}: loss ${fmt(e.trainLoss)}  ${e.epochTimeSec.toFixed(1)}s  ${Math.round(e.positionsPerSec)} pos/s  peak GPU ${mib(e.peakGpuBytes)}`,
        );
        break;
      case 'eval':
        this.line(`  ${e.split} ${metricLine(e.metrics, this.keys)}${e.best ? '  (best)' : ''}`);
        break;
      case 'checkpoint':
        break;
      case 'early-stop':
        this.line(
          `early stop after epoch ${e.epoch + 1}: no better validation for ${e.patience} epochs (best: epoch ${e.bestEpoch + 1})`,
        );
        break;
      case 'interrupted':
        this.stopBar(); // the command's error message says where the checkpoint is and how to resume
        break;
      case 'done': {
        const lines = [
          `test (best epoch ${e.bestEpoch + 1}): ${metricLine(e.test, this.keys)}`,
          `popularity baseline:     ${metricLine(e.popularity, this.keys)}`,
          `run folder: ${e.runDir} (report: ${e.report})`,
        ];
        if (this.mode === 'quiet') this.out.write(`${lines.join('\n')}\n`);
        else for (const l of lines) this.line(l);
        break;
      }
      case 'error':
        break;
    }
  }

  /** Starts an epoch's progress (a bar on a TTY, nothing otherwise). */
  epochStart(epoch: number, epochs: number, steps: number, done: number): void {
    if (this.mode !== 'tty') return;
    this.stopBar();
    this.bar = new cliProgress.SingleBar(
      {
        format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} steps | loss {loss} | {pps} pos/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(steps, done, { loss: '-', pps: '-' });
  }

  /** Advances the bar after a step. */
  step(done: number, loss: number, positionsPerSec: number): void {
    this.bar?.update(done, { loss: fmt(loss), pps: Math.round(positionsPerSec) });
  }

  /** Removes the bar (before other output). */
  stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
  }
}
