/**
 * Parquet decoding off the main thread, under a time limit: `ParquetDecoding.open(path)` runs every
 * hyparquet call in a worker thread (`parquet-worker.js`) and terminates the worker when the file's decoding
 * takes longer than its limit, because hyparquet can loop forever, synchronously, on a corrupted file
 * (no timer in the calling thread could ever run).
 *
 * The limit: `DECODE_FLOOR_S` + `DECODE_PER_MIB_S` per MiB of the file (10 s + 10 s/MiB: 11 s for a
 * 100 KiB file, 110 s for 10 MiB, 17 min for 100 MiB), counting only the time the worker spends
 * decoding (not the time the reader spends on the rows it got). Real files decode at 0.3–1.4 s per
 * MiB on a slow 2-core machine (string and integer interaction logs, snappy), so the limit is several
 * times what a sound file needs. `decodeTimeLimit` (seconds), or the environment variable
 * `CUTREC_PARQUET_TIME_LIMIT` (seconds), replaces it.
 *
 * Workers are kept for the next file (idle ones do not keep the process alive), at most one per
 * core at a time; a worker that timed out is terminated and never reused.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Seconds every Parquet file may take to decode. */
export const DECODE_FLOOR_S = 10;
/** Further seconds per MiB of the file. */
export const DECODE_PER_MIB_S = 10;
const ENV_LIMIT = 'CUTREC_PARQUET_TIME_LIMIT';

/** The worker script: next to this module in the source tree and next to the bundle in dist/. */
const WORKER_URL = new URL('./parquet-worker.js', import.meta.url);

/** Seconds the file of `bytes` bytes may take to decode: the option, else the env variable, else the rule. */
export function decodeTimeLimit(bytes: number, option?: number): number {
  if (option !== undefined) {
    if (typeof option !== 'number' || !(option > 0)) {
      throw new RangeError(`decodeTimeLimit must be a positive number of seconds, got ${String(option)}`);
    }
    return option;
  }
  const env = process.env[ENV_LIMIT];
  if (env !== undefined && env.trim() !== '') {
    const s = Number(env);
    if (!(s > 0))
      throw new RangeError(`${ENV_LIMIT} must be a positive number of seconds, got ${JSON.stringify(env)}`);
    return s;
  }
  return DECODE_FLOOR_S + (DECODE_PER_MIB_S * bytes) / 2 ** 20;
}

// ---- the pool ---------------------------------------------------------------------------------

const idle: Worker[] = [];
const waiting: ((w: Worker) => void)[] = [];
let running = 0;
const maxWorkers = Math.max(1, availableParallelism());
const MAX_IDLE = 2;
const dead = new WeakSet<Worker>();

function startWorker(): Worker {
  const w = new Worker(WORKER_URL);
  // An idle worker's error or exit only marks it dead (a request in flight has its own listeners).
  w.on('error', () => dead.add(w));
  w.on('exit', () => {
    dead.add(w);
    const k = idle.indexOf(w);
    if (k >= 0) idle.splice(k, 1);
  });
  return w;
}

/** A worker of this call's own, once fewer than `maxWorkers` are busy. */
function acquire(): Promise<Worker> {
  if (running < maxWorkers) {
    running++;
    const w = idle.pop() ?? startWorker();
    w.ref();
    return Promise.resolve(w);
  }
  return new Promise((resolve) => waiting.push(resolve));
}

/** Gives `w` back for another file, or (null) the slot of a worker that was terminated. */
function release(w: Worker | null): void {
  const next = waiting.shift();
  if (next) {
    // The slot passes on; so does the worker when it can be reused.
    const v = w && !dead.has(w) ? w : startWorker();
    v.ref();
    next(v);
    return;
  }
  running--;
  if (!w || dead.has(w)) return;
  if (idle.length >= MAX_IDLE) {
    void w.terminate();
    return;
  }
  w.unref();
  idle.push(w);
}

// ---- one file ---------------------------------------------------------------------------------

/** What the worker replies. */
type Reply =
  | { ok: true; names: string[]; groups: number[] }
  | { ok: true; length: number; values: Column[] }
  | { ok: false; message: string; code?: string; fatal?: boolean };

/** A column as the worker sends it: values, or a string column as distinct strings and codes. */
type Column = ArrayLike<unknown> | { dict: string[]; codes: Int32Array };

function expand(c: Column): ArrayLike<unknown> {
  if (!('dict' in c)) return c;
  const out = new Array<string>(c.codes.length);
  for (let r = 0; r < out.length; r++) out[r] = c.dict[c.codes[r]!]!;
  return out;
}

/** Seconds as an error prints them: whole from 10 s on, else to 0.01 s. */
function seconds(s: number): number {
  return s >= 10 ? Math.round(s) : Math.round(s * 100) / 100;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 2 ** 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A Parquet file open in a worker: its schema names and row-group sizes, and its groups' columns. */
export class ParquetDecoding {
  private worker: Worker | null;
  private leftMs: number;

  private constructor(
    readonly path: string,
    readonly bytes: number,
    readonly limitS: number,
    worker: Worker,
  ) {
    this.worker = worker;
    this.leftMs = limitS * 1000;
  }

  /** Opens `path` (of `bytes` bytes) in a worker with `limitS` seconds of decoding for the whole file. */
  static async open(path: string, bytes: number, limitS: number): Promise<ParquetDecoding> {
    return new ParquetDecoding(path, bytes, limitS, await acquire());
  }

  /** Sends one request and waits for its reply, within what is left of the limit. */
  private request(msg: object, doing: string): Promise<Reply> {
    const w = this.worker;
    if (!w) return Promise.reject(new Error(`${this.path}: the Parquet decoder was already closed`));
    const t0 = performance.now();
    return new Promise<Reply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        this.leftMs -= performance.now() - t0;
      };
      const stop = (e: Error) => {
        done();
        this.worker = null;
        void w.terminate();
        release(null);
        reject(e);
      };
      const onMessage = (m: Reply) => {
        done();
        resolve(m);
      };
      const onError = (e: Error) =>
        stop(
          new Error(
            `${this.path}: the Parquet decoder's worker stopped while ${doing} (${e.message}); check the file with another Parquet reader (e.g. pyarrow or DuckDB), and re-export it if that fails too`,
          ),
        );
      const onExit = (code: number) => onError(new Error(`its worker exited with code ${code}`));
      const timer = setTimeout(
        () =>
          stop(
            new Error(
              `${this.path}: could not be decoded within ${seconds(this.limitS)} s (the limit for a Parquet file of ${size(this.bytes)}; hyparquet was still ${doing}), so it is probably corrupted: re-export it, or check it with another Parquet reader (e.g. pyarrow or DuckDB); if it is sound, allow more time with ${ENV_LIMIT}=<seconds>`,
            ),
          ),
        Math.min(Math.max(0, this.leftMs), 2 ** 31 - 1),
      );
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage(msg);
    });
  }

  /** Reads the footer: `names` of the schema's top-level columns and the rows of each row group. */
  async schema(): Promise<{ ok: true; names: string[]; groups: number[] } | { ok: false; message: string }> {
    const r = await this.request({ op: 'open', path: this.path }, 'reading the footer');
    if (!r.ok) {
      if (r.fatal)
        throw Object.assign(new Error(`${this.path}: ${r.message}`), r.code ? { code: r.code } : {});
      return r;
    }
    return r as { ok: true; names: string[]; groups: number[] };
  }

  /** The values of `columns` (one ArrayLike per name, in order) in rows [rowStart, rowEnd). */
  async group(
    rowStart: number,
    rowEnd: number,
    columns: string[],
  ): Promise<{ ok: true; length: number; values: ArrayLike<unknown>[] } | { ok: false; message: string }> {
    const r = await this.request(
      { op: 'group', rowStart, rowEnd, columns },
      `decoding the row group of rows ${rowStart + 1}–${rowEnd}`,
    );
    if (!r.ok) {
      if (r.fatal)
        throw Object.assign(new Error(`${this.path}: ${r.message}`), r.code ? { code: r.code } : {});
      return r;
    }
    const { length, values } = r as { ok: true; length: number; values: Column[] };
    return { ok: true, length, values: values.map(expand) };
  }

  /** Tells the worker to drop this file and gives it back for the next one (no-op once stopped). */
  close(): void {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    w.postMessage({ op: 'close' });
    release(w);
  }
}
