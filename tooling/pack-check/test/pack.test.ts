import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

interface Pkg {
  dir: string;
  name: string;
  version: string;
  private?: boolean;
  exports: Record<string, unknown>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
}

const pkgs: Pkg[] = ['packages', 'apps']
  .flatMap((d) => fs.readdirSync(path.join(root, d)).map((n) => path.join(root, d, n)))
  .filter((d) => fs.existsSync(path.join(d, 'package.json')))
  .map((d) => ({ dir: d, ...JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')) }))
  .filter((p) => !p.private);
const byName = new Map(pkgs.map((p) => [p.name, p]));

/** The package and the cutrec packages it needs, transitively. */
function closure(p: Pkg, seen = new Set<string>()): Pkg[] {
  if (seen.has(p.name)) return [];
  seen.add(p.name);
  const deps = Object.keys(p.dependencies ?? {}).filter((d) => byName.has(d));
  return [p, ...deps.flatMap((d) => closure(byName.get(d)!, seen))];
}

let work: string;
const tarballs = new Map<string, string>();

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cutrec-pack-'));
  for (const p of pkgs) {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: p.dir,
      encoding: 'utf8',
    });
    const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    tarballs.set(p.name, path.join(work, info!.filename));
  }
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe.each(pkgs.map((p) => [p.name, p] as const))('%s from its tarball', (name, pkg) => {
  it('installs alone into an empty project, imports, and has types', () => {
    const proj = fs.mkdtempSync(path.join(work, 'proj-'));
    fs.writeFileSync(
      path.join(proj, 'package.json'),
      JSON.stringify({ name: 'empty', private: true, type: 'module' }),
    );
    const needed = closure(pkg).map((p) => tarballs.get(p.name)!);
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...needed],
      {
        cwd: proj,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Wildcard subpaths export files that are not modules (e.g. @cutrec/sampler's ./cuda/*.cuh).
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json' && !k.includes('*'));
    for (const sub of subpaths) {
      const spec = sub === '.' ? name : `${name}/${sub.slice(2)}`;
      const out = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(m)));`,
        ],
        {
          cwd: proj,
          encoding: 'utf8',
        },
      );
      expect(Array.isArray(JSON.parse(out.trim().split('\n').pop()!))).toBe(true);
      fs.writeFileSync(
        path.join(proj, 'check.ts'),
        `import * as m from ${JSON.stringify(spec)};\nexport const keys: string[] = Object.keys(m);\n`,
      );
      execFileSync(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--target',
          'es2022',
          '--skipLibCheck',
          '--types',
          'node',
          '--typeRoots',
          path.join(root, 'node_modules/@types'),
          'check.ts',
        ],
        { cwd: proj, encoding: 'utf8' },
      );
    }
    for (const bin of Object.keys(pkg.bin ?? {})) {
      const out = execFileSync(path.join(proj, 'node_modules/.bin', bin), ['--help'], {
        cwd: proj,
        encoding: 'utf8',
      });
      expect(out.length).toBeGreaterThan(0);
    }
    // Each project's node_modules goes as soon as its test passes: removing all seven at once
    // in afterAll ran past the hook timeout on a loaded CI machine.
    fs.rmSync(proj, { recursive: true, force: true });
  });
});
