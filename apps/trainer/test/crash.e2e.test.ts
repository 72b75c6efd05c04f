/**
 * Crash test: a training run (CPU backend, tiny synthetic problem) killed with SIGKILL at random
 * moments — during training steps, validation, checkpoint writes, start-up and the final test —
 * and continued with `--resume` each time, always resumes from an intact checkpoint and finishes
 * bit-identical to an uninterrupted run: the same test metrics, one metrics.jsonl row per epoch
 * with the same losses and validation metrics, the same final weights. The kill moments come
 * from a seeded generator: CUTREC_TEST_SEED=<seed printed by the test> replays them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '@cutrec/models';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cutrec-crash-'));
const KILLS = 20;

/** 8 steps per epoch; 1,000 items so that a checkpoint (~400 kB, fsynced) takes a moment to write. */
const CONFIG = [
  '--synth-users', '120', '--synth-items', '1000', '--synth-min-length', '6', '--synth-max-length', '10',
  '--hidden', '32', '--blocks', '1', '--heads', '1', '--batch-size', '16', '--negatives', '8',
  '--epochs', '5', '--backend', 'cpu', '--patience', '0', '--seed', '11', '--json',
]; // biome-ignore format: flag pairs

/** mulberry32: a small seeded generator for the kill moments. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** When to kill: `delayMs` after the `nth` event named `after` ('spawn': after starting). */
interface KillPlan {
  after: 'spawn' | 'start' | 'eval';
  nth: number;
  delayMs: number;
}

/** Kill moments in turn: checkpoint writes (just after an eval event), training steps, anywhere. */
function planKill(random: () => number, i: number): KillPlan {
  const nth = 1 + Math.floor(random() * 2);
  switch (i % 3) {
    case 0:
      return { after: 'eval', nth, delayMs: random() * 15 };
    case 1:
      return { after: 'start', nth: 1, delayMs: random() * 800 };
    default:
      return { after: 'spawn', nth: 1, delayMs: random() * 3000 };
  }
}

/** Runs the CLI; SIGKILLs it as planned (or never). Resolves with whether it was killed, and its code. */
function runAndKill(args: string[], plan: KillPlan | null) {
  return new Promise<{ killed: boolean; code: number | null; stderr: string }>((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [cli, ...args], { cwd: work });
    let stderr = '';
    let seen = 0;
    const kill = () =>
      setTimeout(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      }, plan!.delayMs);
    if (plan?.after === 'spawn') kill();
    child.stdout!.on('data', (d: Buffer) => {
      if (!plan || plan.after === 'spawn') return;
      for (const line of d.toString().split('\n'))
        if (line.includes(`"event":"${plan.after}"`) && ++seen === plan.nth) kill();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ killed: signal === 'SIGKILL', code, stderr }));
  });
}

/** What must come out the same: test metrics, per-epoch rows (no timings), final weights. */
async function outcome(dir: string) {
  const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const epochs = rows
    .filter((r) => r.type === 'epoch')
    .map(({ epoch, step, trainLoss, valid, lr }) => ({ epoch, step, trainLoss, valid, lr }));
  const test = JSON.parse(readFileSync(join(dir, 'test-metrics.json'), 'utf8'));
  const { tensors } = await readCheckpoint(join(dir, 'checkpoints', 'last.safetensors'));
  const weights = Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => {
      const a = t.data as Float32Array;
      return [name, Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')];
    }),
  );
  return {
    rows: rows.map((r) => r.type),
    epochs,
    test: { bestEpoch: test.bestEpoch, test: test.test },
    weights,
  };
}

/** Temporaries a killed write left in a run folder. */
function temporaries(dir: string): number {
  const names = [dir, join(dir, 'checkpoints')].flatMap((d) => (existsSync(d) ? readdirSync(d) : []));
  return names.filter((n) => /\.tmp-\d+-\d+$/.test(n)).length;
}

describe('SIGKILL at random moments', () => {
  it(`resumes from an intact checkpoint every time (${KILLS}+ kills) and ends bit-identical`, {
    timeout: 240_000,
  }, async () => {
    const seed = Number(process.env.CUTREC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[crash] seed ${seed} (replay: CUTREC_TEST_SEED=${seed})`);
    const random = generator(seed);
    const reference = join(work, 'reference');
    const ref = await runAndKill(['train', ...CONFIG, '--out', reference], null);
    expect(ref.code, ref.stderr).toBe(0);
    const expected = await outcome(reference);
    expect(expected.rows).toEqual(['epoch', 'epoch', 'epoch', 'epoch', 'epoch', 'test']);

    let kills = 0;
    let torn = 0;
    let runs = 0;
    while (kills < KILLS) {
      const dir = join(work, `crashed-${++runs}`);
      for (let attempt = 0; ; attempt++) {
        expect(attempt, 'the run makes no progress between kills').toBeLessThan(60);
        torn += temporaries(dir);
        // A folder killed before its config.json was written is started again (it counts as empty).
        const args = existsSync(join(dir, 'config.json'))
          ? ['train', '--resume', dir, '--json']
          : ['train', ...CONFIG, '--out', dir];
        const r = await runAndKill(args, kills < KILLS ? planKill(random, kills) : null);
        if (!r.killed) {
          expect(r.code, r.stderr).toBe(0);
          break;
        }
        kills++;
      }
      expect(await outcome(dir), `run ${runs}`).toEqual(expected);
    }
    console.log(
      `[crash] ${kills} kills over ${runs} runs; ${torn} left a torn temporary that resume ignored`,
    );
  });
});
