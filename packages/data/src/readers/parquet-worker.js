/**
 * The Parquet decoding worker of @cutrec/data: every hyparquet call of `readParquet` runs here, in
 * a worker thread, so that a file on which hyparquet never returns (it loops forever, synchronously,
 * on some corrupted pages) costs a terminated worker instead of a hung process. `parquet-decode.ts`
 * starts it, times it and terminates it.
 *
 * Plain JavaScript that imports only packages (no relative imports, no TypeScript), so the same file
 * runs from the source tree (the tests) and from `dist/` (the built and packed package), where the
 * build copies it.
 *
 * One file at a time per worker; every request but `close` gets exactly one reply:
 *   { op: 'open', path }
 *     → { ok: true, names: string[], groups: number[] }   (schema column names, rows per row group)
 *     | { ok: false, message }                            (metadata or schema unreadable)
 *   { op: 'group', rowStart, rowEnd, columns: string[] }
 *     → { ok: true, length, values: ArrayLike[] }         (one column of values per requested name)
 *     | { ok: false, message }
 *   { op: 'close' }                                       (no reply: drops the file and its metadata)
 * Numeric columns come back as Float64Array / BigInt64Array, string columns as their distinct
 * strings and an Int32Array of codes (typed arrays' buffers transferred, not copied); other columns
 * as arrays (structured clone keeps null, Dates, bigints and typed arrays as they are).
 */
import { parentPort } from 'node:worker_threads';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

if (!parentPort) throw new Error('parquet-worker.js runs as a worker thread (node:worker_threads)');
const port = parentPort;

/** @type {{ file: import('hyparquet').AsyncBuffer, metadata: import('hyparquet').FileMetaData } | null} */
let open = null;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The values of one column of `rows`: a typed array where every value is a number (or a bigint
 * within int64); `{ dict, codes }` where every value is a string (each distinct string sent once,
 * `codes[r]` its index in `dict`); else an array of the values themselves.
 * @param {Record<string, unknown>[]} rows
 * @param {string} name
 * @returns {Float64Array | BigInt64Array | { dict: string[], codes: Int32Array } | unknown[]}
 */
function columnOf(rows, name) {
  const n = rows.length;
  const values = new Array(n);
  let numbers = n > 0;
  let bigints = n > 0;
  let strings = n > 0;
  for (let r = 0; r < n; r++) {
    const v = rows[r][name];
    values[r] = v;
    if (typeof v !== 'number') numbers = false;
    if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) bigints = false;
    if (typeof v !== 'string') strings = false;
  }
  if (numbers) return Float64Array.from(values);
  if (bigints) return BigInt64Array.from(values);
  if (strings) {
    /** @type {Map<string, number>} */
    const index = new Map();
    const codes = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let k = index.get(values[r]);
      if (k === undefined) {
        k = index.size;
        index.set(values[r], k);
      }
      codes[r] = k;
    }
    return { dict: [...index.keys()], codes };
  }
  return values;
}

/** @param {unknown} e */
function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

/** @param {any} msg */
async function handle(msg) {
  if (msg.op === 'open') {
    open = null;
    const file = await asyncBufferFromFile(msg.path);
    let metadata;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (e) {
      return { ok: false, message: messageOf(e) };
    }
    let names;
    try {
      names = parquetSchema(metadata).children.map((c, k) => {
        const n = c.element.name;
        if (typeof n !== 'string') throw new Error(`schema column ${k} has no name`);
        return n;
      });
    } catch (e) {
      return { ok: false, message: messageOf(e) };
    }
    open = { file, metadata };
    return { ok: true, names, groups: metadata.row_groups.map((g) => Number(g.num_rows)) };
  }
  if (msg.op === 'group') {
    if (!open) return { ok: false, message: 'no file is open' };
    const { file, metadata } = open;
    let rows;
    try {
      rows = await parquetReadObjects({
        file,
        metadata,
        columns: msg.columns,
        rowStart: msg.rowStart,
        rowEnd: msg.rowEnd,
        compressors,
      });
    } catch (e) {
      return { ok: false, message: messageOf(e) };
    }
    /** @type {string[]} */
    const columns = msg.columns;
    return { ok: true, length: rows.length, values: columns.map((name) => columnOf(rows, name)) };
  }
  return { ok: false, message: `unknown request ${JSON.stringify(msg.op)}` };
}

port.on('message', (msg) => {
  if (msg.op === 'close') {
    open = null;
    return;
  }
  handle(msg).then(
    (reply) => {
      /** @type {ArrayBuffer[]} */
      const transfer = [];
      if (reply.values) {
        for (const v of reply.values) {
          const typed = ArrayBuffer.isView(v) ? v : v.codes;
          if (typed) transfer.push(/** @type {ArrayBuffer} */ (typed.buffer));
        }
      }
      port.postMessage(reply, transfer);
    },
    // Anything else (the file vanished between the reader's stat and ours): its message and code.
    (e) => port.postMessage({ ok: false, message: messageOf(e), code: e?.code, fatal: true }),
  );
});
