/** The users of `cutrec recommend --all`: every user of the run's data, or those listed in a file. */
import { readFileSync } from 'node:fs';
import type { Dataset } from '@cutrec/data';

/**
 * Dense indices of the users listed in `path` (one original user id a line; blank lines and lines
 * starting with '#' are skipped), in file order; throws `path:line` for the first unknown user.
 */
export function readUserList(path: string, dataset: Dataset, datasetName: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(
      `--users ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const out: number[] = [];
  const unknown: { line: number; id: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const id = raw.trim();
    if (!id || id.startsWith('#')) return;
    const u = dataset.userIndex(id);
    if (u === undefined) unknown.push({ line: i + 1, id });
    else out.push(u);
  });
  if (unknown.length) {
    const first = unknown[0]!;
    const more =
      unknown.length > 1
        ? ` (${unknown.length} unknown users in all; also line ${unknown
            .slice(1, 4)
            .map((u) => u.line)
            .join(', ')}${unknown.length > 4 ? ', …' : ''})`
        : '';
    throw new Error(`${path}:${first.line}: no user '${first.id}' in ${datasetName}${more}`);
  }
  if (out.length === 0) throw new Error(`--users ${path}: no user ids in the file`);
  return out;
}
