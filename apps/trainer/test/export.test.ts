/**
 * `cutrec export` and `cutrec recommend --all` end to end through the built CLI (dist/cli.js): a
 * small model trained on the synthetic data (CPU backend), exported to ONNX and run by
 * onnxruntime-node for every user of the run (300) in batches of 1, 7 and 256. Its top-10 ids equal
 * `cutrec recommend --all`'s for every user and its scores lie within 1e-4 of them (relative to the
 * user's best score), with and without the user's history excluded; `--all` agrees with the
 * single-user `cutrec recommend --user`; the JSON Lines, CSV and Parquet outputs hold the same lists;
 * bad input fails with a message that names it and leaves no file behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fusedCudaUnavailableReason } from '@cutrec/models';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config/load.js';
import { loadRunData } from '../src/data.js';
import { readJson, runPaths } from '../src/train/run-folder.js';

/** Resolves once `dir` holds a file (watched, not polled). */
function fileAppears(dir: string): Promise<void> {
  return new Promise((done) => {
    const watcher = watch(dir, () => {
      if (readdirSync(dir).length > 0) {
        watcher.close();
        done();
      }
    });
    if (readdirSync(dir).length > 0) {
      watcher.close();
      done();
    }
  });
}

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cutrec-export-'));
const run = join(work, 'run');

/** 300 synthetic users over 60 items; a 2-block model trained for 2 epochs on the CPU: seconds. */
const TRAIN = [
  'train', '--out', run, '--synth-users', '300', '--synth-items', '60', '--synth-min-length', '4',
  '--synth-max-length', '14', '--hidden', '16', '--blocks', '2', '--heads', '2', '--batch-size', '32',
  '--negatives', '16', '--epochs', '2', '--backend', 'cpu', '--lr', '0.01', '--patience', '0',
  '--seed', '5', '--quiet',
]; // biome-ignore format: flag pairs

function cutrec(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: work });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[]): string {
  const r = cutrec(args);
  if (r.code !== 0) throw new Error(`cutrec ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

interface Line {
  user: string;
  items: string[];
  scores: number[];
}

function readJsonl(path: string): Line[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
}

/** The run's users with their whole histories (original ids), from the same data the CLI reads. */
let users: { id: string; history: string[] }[] = [];

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`build the trainer first (npm run build): ${cli} is missing`);
  ok(TRAIN);
  const data = await loadRunData(validateConfig(readJson(runPaths(run).config)));
  const ds = data.dataset;
  users = ds.userIds.map((id, u) => ({ id, history: Array.from(ds.sequences[u]!, (i) => ds.itemIds[i]!) }));
}, 300_000);

/** Rows of `user` → list, checking every score of `got` against `want` within 1e-4 of the row's best. */
function expectSameLists(got: Map<string, Line>, want: Map<string, Line>, label: string) {
  expect(got.size, label).toBe(want.size);
  for (const [user, w] of want) {
    const g = got.get(user)!;
    expect(g, `${label}: user ${user}`).toBeDefined();
    expect(g.items, `${label}: user ${user}`).toEqual(w.items);
    const scale = Math.max(1e-6, ...w.scores.map(Math.abs));
    g.scores.forEach((s, i) => {
      expect(Math.abs(s - w.scores[i]!), `${label}: user ${user} rank ${i + 1}`).toBeLessThanOrEqual(
        1e-4 * scale,
      );
    });
  }
}

const byUser = (lines: Line[]) => new Map(lines.map((l) => [l.user, l]));

describe('cutrec export: the ONNX model equals cutrec recommend', () => {
  it('writes model.onnx and model.ids.json', () => {
    const out = JSON.parse(
      ok(['export', run, '--format', 'onnx', '--out', join(work, 'model.onnx'), '--k', '10', '--json']),
    );
    expect(out).toMatchObject({ format: 'onnx', k: 10, numItems: 60, scores: false });
    const ids = JSON.parse(readFileSync(join(work, 'model.ids.json'), 'utf8'));
    expect(ids.items).toHaveLength(60);
    expect(ids.padding).toBe(60);
    expect(ids.maxLen).toBe(out.maxLen);
  });

  for (const removeSeen of [false, true]) {
    it(`top-10 of onnxruntime-node = recommend --all${removeSeen ? '' : ' --include-seen'} for all 300 users, batches of 1, 7 and 256`, async () => {
      const recsPath = join(work, `all${removeSeen ? '' : '-with-seen'}.jsonl`);
      ok([
        'recommend',
        run,
        '--all',
        '--k',
        '10',
        '--out',
        recsPath,
        ...(removeSeen ? [] : ['--include-seen']),
      ]);
      const want = byUser(readJsonl(recsPath));
      const ids = JSON.parse(readFileSync(join(work, 'model.ids.json'), 'utf8')) as {
        items: string[];
        maxLen: number;
        padding: number;
      };
      const index = new Map(ids.items.map((id, i) => [id, i]));
      const session = await ort.InferenceSession.create(join(work, 'model.onnx'));
      const got = new Map<string, Line>();
      const sizes = [1, 7, 256];
      for (let u0 = 0, s = 0; u0 < users.length; s++) {
        const batch = users.slice(u0, u0 + sizes[s % sizes.length]!);
        u0 += batch.length;
        const L = ids.maxLen;
        const history = new BigInt64Array(batch.length * L).fill(BigInt(ids.padding));
        const M = removeSeen ? Math.max(1, ...batch.map((u) => u.history.length)) : 0;
        const exclude = new BigInt64Array(batch.length * M).fill(BigInt(ids.padding));
        batch.forEach((u, b) => {
          const h = u.history.map((id) => index.get(id)!);
          h.slice(-L).forEach((v, j, tail) => {
            history[b * L + L - tail.length + j] = BigInt(v);
          });
          if (removeSeen)
            h.forEach((v, j) => {
              exclude[b * M + j] = BigInt(v);
            });
        });
        const out = await session.run({
          history: new ort.Tensor('int64', history, [batch.length, L]),
          exclude: new ort.Tensor('int64', exclude, [batch.length, M]),
        });
        expect(out.top_items!.dims).toEqual([batch.length, 10]);
        const items = out.top_items!.data as BigInt64Array;
        const scores = out.top_scores!.data as Float32Array;
        batch.forEach((u, b) => {
          got.set(u.id, {
            user: u.id,
            items: Array.from(items.subarray(b * 10, b * 10 + 10), (i) => ids.items[Number(i)]!),
            scores: Array.from(scores.subarray(b * 10, b * 10 + 10)),
          });
        });
      }
      expectSameLists(got, want, `onnx vs recommend --all${removeSeen ? '' : ' --include-seen'}`);
    }, 120_000);
  }

  it('recommend --all (seen items removed) agrees with the single-user cutrec recommend --user', () => {
    const all = byUser(readJsonl(join(work, 'all.jsonl')));
    for (const u of [users[0]!, users[123]!]) {
      const one = JSON.parse(ok(['recommend', run, '--user', u.id, '--k', '10', '--json'])) as {
        items: { item: string; score: number }[];
      };
      const line: Line = {
        user: u.id,
        items: one.items.map((i) => i.item),
        scores: one.items.map((i) => i.score),
      };
      expectSameLists(new Map([[u.id, line]]), new Map([[u.id, all.get(u.id)!]]), 'recommend --user');
    }
  }, 60_000);

  it('exports every score with --scores', async () => {
    const path = join(work, 'with-scores.onnx');
    ok(['export', run, '--out', path, '--k', '3', '--scores', '--checkpoint', 'last']);
    expect(existsSync(join(work, 'with-scores.ids.json'))).toBe(true);
    const session = await ort.InferenceSession.create(path);
    expect(session.outputNames).toEqual(['top_items', 'top_scores', 'scores']);
    const L = JSON.parse(readFileSync(join(work, 'with-scores.ids.json'), 'utf8')).maxLen as number;
    const out = await session.run({
      history: new ort.Tensor('int64', new BigInt64Array(L).fill(60n), [1, L]),
      exclude: new ort.Tensor('int64', new BigInt64Array(0), [1, 0]),
    });
    expect(out.scores!.dims).toEqual([1, 60]);
  });
});

describe('cutrec recommend --all: formats and errors', () => {
  it('writes the same lists as JSON Lines, CSV and Parquet, for the users of --users in file order', async () => {
    const list = join(work, 'users.txt');
    writeFileSync(list, `# some users\n${users[5]!.id}\n\n${users[2]!.id}\n${users[9]!.id}\n`);
    const base = ['recommend', run, '--all', '--k', '4', '--users', list, '--batch-size', '2'];
    for (const ext of ['jsonl', 'csv', 'parquet']) ok([...base, '--out', join(work, `some.${ext}`)]);
    const jsonl = readJsonl(join(work, 'some.jsonl'));
    expect(jsonl.map((l) => l.user)).toEqual([users[5]!.id, users[2]!.id, users[9]!.id]);
    for (const l of jsonl) expect(l.items).toHaveLength(4);
    const fromRows = (rows: { user: string; rank: number; item: string; score: number }[]) => {
      const m = new Map<string, Line>();
      for (const r of rows) {
        const l = m.get(r.user) ?? { user: r.user, items: [], scores: [] };
        expect(r.rank).toBe(l.items.length + 1);
        l.items.push(r.item);
        l.scores.push(r.score);
        m.set(r.user, l);
      }
      return m;
    };
    const csv = readFileSync(join(work, 'some.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('user,rank,item,score');
    const csvRows = csv.slice(1).map((line) => {
      const [user, rank, item, score] = line.split(',');
      return { user: user!, rank: Number(rank), item: item!, score: Number(score) };
    });
    expectSameLists(fromRows(csvRows), byUser(jsonl), 'csv');
    const file = await asyncBufferFromFile(join(work, 'some.parquet'));
    const rows = (await parquetReadObjects({ file })) as {
      user: string;
      rank: number;
      item: string;
      score: number;
    }[];
    expectSameLists(fromRows(rows), byUser(jsonl), 'parquet');
    // The top-4 lists are the first 4 of the top-10 lists.
    const all = byUser(readJsonl(join(work, 'all.jsonl')));
    for (const l of jsonl) expect(l.items).toEqual(all.get(l.user)!.items.slice(0, 4));
  }, 60_000);

  it('names the file and line of an unknown user, and writes nothing', () => {
    const list = join(work, 'bad-users.txt');
    writeFileSync(list, `${users[0]!.id}\nno-such-user\n`);
    const dir = join(work, 'fail');
    mkdirSync(dir);
    const r = cutrec(['recommend', run, '--all', '--users', list, '--out', join(dir, 'r.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${list}:2: no user 'no-such-user' in the synthetic dataset`);
    expect(readdirSync(dir)).toEqual([]);
  }, 30_000);

  it('an interrupted --all removes its partial file and exits 130', async () => {
    const dir = join(work, 'interrupted');
    mkdirSync(dir);
    const out = join(dir, 'r.jsonl');
    const child = spawn(
      process.execPath,
      [cli, 'recommend', run, '--all', '--batch-size', '1', '--out', out],
      {
        cwd: work,
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // Signal once the temporary file exists (the writer is open and the loop runs), or the child
    // has exited without one (the expectation below then fails); the test's timeout bounds the wait.
    await Promise.race([fileAppears(dir), exited]);
    expect(readdirSync(dir)[0]).toMatch(/^\.r\.jsonl\.tmp-/);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted by SIGINT after \d+ of 300 users; .*r\.jsonl was not written/);
    expect(readdirSync(dir)).toEqual([]);
  }, 90_000);

  it('rejects an unknown extension, a missing --out, flags without --all, and --all with --user', () => {
    const cases: [string[], RegExp][] = [
      [
        ['--all', '--out', join(work, 'r.txt')],
        /unknown extension '\.txt' \(use \.jsonl, \.ndjson, \.csv, \.parquet\)/,
      ],
      [['--all'], /--all needs --out FILE/],
      [['--all', '--out', join(work, 'nowhere', 'r.csv')], /the folder .*nowhere does not exist/],
      [['--user', users[0]!.id, '--out', join(work, 'r.jsonl')], /--out goes with --all/],
      [['--all', '--user', users[0]!.id, '--out', join(work, 'r.jsonl')], /drop --user/],
      [['--all', '--k', '0', '--out', join(work, 'r.jsonl')], /--k must be an integer ≥ 1, got '0'/],
      [
        ['--all', '--engine', 'gpu', '--out', join(work, 'r.jsonl')],
        /--engine must be auto, fused or tfjs, got 'gpu'/,
      ],
      [['--user', users[0]!.id, '--engine', 'tfjs'], /--engine goes with --all/],
      // Without CUDA, and with tfjs on the CPU (this run's backend), the fused engine cannot recommend.
      ...(fusedCudaUnavailableReason()
        ? ([
            [
              ['--all', '--engine', 'fused', '--out', join(work, 'r.jsonl')],
              /--engine fused: the fused engine recommends on CUDA or on tfjs's WebGPU backend, and CUDA unavailable.*; tfjs is not on WebGPU; use --engine tfjs/,
            ],
          ] as [string[], RegExp][])
        : []),
    ];
    for (const [args, message] of cases) {
      const r = cutrec(['recommend', run, ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const e = cutrec(['export', run, '--format', 'tflite']);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/--format/);
  }, 60_000);
});
