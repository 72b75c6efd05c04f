/** Progress while a benchmark runs: a cli-progress bar on a TTY, plain lines otherwise, nothing when quiet. */
import cliProgress from 'cli-progress';

/** Reports (done, total, label) updates. */
export interface Progress {
  update(done: number, total: number, label: string): void;
  log(line: string): void;
  stop(): void;
}

/** A progress reporter on stderr; `quiet` (e.g. with --json) prints nothing. */
export function progress(quiet: boolean): Progress {
  if (quiet) return { update() {}, log() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: '{bar} {value}/{total} {label}',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, label) {
        if (!started) {
          bar.start(total, done, { label });
          started = true;
        } else bar.update(done, { label });
      },
      log(line) {
        process.stderr.write(`\r\x1b[K${line}\n`);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  return {
    update(done, total, label) {
      process.stderr.write(`[${done}/${total}] ${label}\n`);
    },
    log(line) {
      process.stderr.write(`${line}\n`);
    },
    stop() {},
  };
}
