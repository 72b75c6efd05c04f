/**
 * The built package as a user gets it: `npm pack` of packages/data installed alone into an empty
 * project, where readParquet must find its worker script (dist/parquet-worker.js, next to the
 * bundle) and stop a file hyparquet never finishes. Needs the build (`npm run build -w @cutrec/data`;
 * `npm test` at the root builds first); the other tests run the same code from the source tree.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cutrec-data-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('installed alone from its npm pack tarball, readParquet finds its worker and stops a hanging file', () => {
  for (const f of ['dist/index.js', 'dist/parquet-worker.js']) {
    if (!existsSync(join(pkg, f)))
      throw new Error(`${f} is missing: build first (npm run build -w @cutrec/data)`);
  }
  const [info] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkg, encoding: 'utf8' }),
  ) as { filename: string; files: { path: string }[] }[];
  expect(info!.files.map((f) => f.path)).toContain('dist/parquet-worker.js');

  const proj = join(work, 'proj');
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'empty', private: true, type: 'module' }));
  execFileSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      join(work, info!.filename),
    ],
    { cwd: proj, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  copyFileSync(join(pkg, 'test/fixtures/hyparquet-hang.parquet'), join(proj, 'hang.parquet'));
  writeFileSync(
    join(proj, 'log.parquet'),
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'user', data: ['u2', 'u1', 'u1'], type: 'STRING' },
          { name: 'item', data: Int32Array.of(3, 1, 2), type: 'INT32' },
        ],
      }),
    ),
  );
  writeFileSync(
    join(proj, 'read.mjs'),
    `import { readParquet } from '@cutrec/data';
const ds = await readParquet('log.parquet');
let stopped = null;
try { await readParquet('hang.parquet', { decodeTimeLimit: 1 }); } catch (e) { stopped = e.message; }
console.log(JSON.stringify({ users: ds.userIds, items: ds.itemIds, stopped }));
`,
  );
  const out = execFileSync(process.execPath, ['read.mjs'], { cwd: proj, encoding: 'utf8', timeout: 60_000 });
  const got = JSON.parse(out.trim().split('\n').pop()!);
  expect(got.users).toEqual(['u1', 'u2']);
  expect(got.items).toEqual(['1', '2', '3']);
  expect(got.stopped).toMatch(
    /^hang\.parquet: could not be decoded within 1 s \(the limit for a Parquet file of 608 bytes;/,
  );
  // The installed copy is the packed one, not a link to the source tree.
  expect(readFileSync(join(proj, 'node_modules/@cutrec/data/dist/parquet-worker.js'), 'utf8')).toContain(
    'parentPort',
  );
});
