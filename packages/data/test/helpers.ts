import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'cutrec-data-test-'));
let n = 0;

/** Writes `text` to a fresh temporary file named `name` and returns its path. */
export function tempFile(name: string, text: string | Uint8Array): string {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, text);
  return p;
}

/** Sequences of a dataset as plain arrays, for readable expectations. */
export function plain(seqs: readonly ArrayLike<number>[]): number[][] {
  return seqs.map((s) => Array.from(s));
}
