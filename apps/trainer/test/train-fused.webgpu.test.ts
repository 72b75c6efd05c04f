/**
 * `cutrec train --engine fused --backend webgpu` end to end on a tiny synthetic set (lavapipe is
 * enough): the fused engine on WebGPU trains an epoch and checkpoints, `--resume` continues it to
 * the second epoch, the run folder's test metrics exist, and the fused-WebGPU checkpoint loads in
 * the tfjs engine (`cutrec evaluate --backend cpu`: the same test metrics) and recommends, and
 * `recommend --all` on WebGPU scores with the fused engine, giving the tfjs model's lists; and
 * `--engine auto` on WebGPU picks the fused engine, which trains as the tfjs engine does (the same
 * epoch losses within 1e-4, the same test NDCG@10 within 1e-3, well above popularity and at least
 * 0.6 of the planted model's). `--precision f16` (adapters with shader-f16; lavapipe has it)
 * trains the same set to the same quality: epoch losses within 1e-2 of fp32's, test NDCG@10 within
 * 0.02, above popularity and 0.6 of the planted model's; it resumes in f16. Skips with the printed
 * reason without an adapter; under CI=true a missing adapter fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const { device } = await webgpuForTests();

// biome-ignore lint/suspicious/noExplicitAny: JSON events and results of the CLI, read field by field
type Event = Record<string, any>;

function cutrec(args: string[]): { events: Event[]; stdout: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const events = r.stdout.trim().startsWith('{"event"')
    ? r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Event)
    : [];
  return { events, stdout: r.stdout };
}

describe.skipIf(!device)('cutrec train --engine fused on WebGPU', () => {
  it('checkpoints, resumes, tests, and its checkpoint evaluates in the tfjs engine', {
    timeout: 300_000,
  }, () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cutrec-fused-webgpu-')), 'run');
    const synth = [
      ...['--synth-users', '80', '--synth-items', '30', '--synth-min-length', '5'],
      ...['--synth-max-length', '8'],
    ];
    const model = [
      ...['--hidden', '8', '--blocks', '1', '--heads', '2'],
      ...['--batch-size', '16', '--negatives', '6'],
    ];
    const first = cutrec([
      ...['train', '--engine', 'fused', '--backend', 'webgpu', '--json', '--out', out],
      ...['--epochs', '1', '--seed', '5', ...synth, ...model],
    ]).events;
    expect(first[0]).toMatchObject({ event: 'start', engine: 'fused', precision: 'fp32', backend: 'webgpu' });
    expect(first.some((e) => e.event === 'checkpoint' && e.kind === 'last')).toBe(true);
    expect(existsSync(join(out, 'checkpoints', 'last.safetensors'))).toBe(true);
    const steps = first.find((e) => e.event === 'epoch')!.step as number;

    const resumed = cutrec(['train', '--resume', out, '--epochs', '2', '--json']).events;
    expect(resumed[0]).toMatchObject({ event: 'start', resumed: true, startEpoch: 1, engine: 'fused' });
    const epochs = resumed.filter((e) => e.event === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1]);
    expect(epochs[0]!.step).toBe(2 * steps);
    expect(Number.isFinite(epochs[0]!.trainLoss)).toBe(true);
    const done = resumed.at(-1)!;
    expect(done).toMatchObject({ event: 'done', runDir: out, epochs: 2 });
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Event);
    expect(lines.filter((l) => l.type === 'epoch').map((l) => l.epoch)).toEqual([0, 1]);
    const test = JSON.parse(readFileSync(join(out, 'test-metrics.json'), 'utf8')) as Event;
    expect(test.test['ndcg@10']).toBeGreaterThan(0);
    expect(test.test['ndcg@10']).toBeCloseTo(done.test['ndcg@10'], 10);

    // The fused-WebGPU checkpoint in the tfjs engine (CPU backend): the same test metrics.
    const ev = JSON.parse(cutrec(['evaluate', out, '--backend', 'cpu', '--json']).stdout) as Event;
    expect(ev.checkpoint).toBe(join(out, test.checkpoint));
    for (const k of ['ndcg@10', 'hr@10', 'mrr@10'])
      expect(Math.abs(ev.model[k] - test.test[k]), k).toBeLessThan(1e-4);

    const rec = JSON.parse(
      cutrec(['recommend', out, '--user', '5', '--k', '4', '--json', '--backend', 'cpu']).stdout,
    ) as Event;
    expect(rec.items).toHaveLength(4);

    // recommend --all on the run's WebGPU backend: the fused engine's WGSL forward and top-k by
    // default, the same lists as the tfjs model's (scores within 1e-4).
    const all = (engine: string) => {
      const file = join(out, `all-${engine}.jsonl`);
      const r = JSON.parse(
        cutrec(['recommend', out, '--all', '--k', '5', '--engine', engine, '--out', file, '--json']).stdout,
      ) as Event;
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { user: string; items: string[]; scores: number[] });
      return { r, lines };
    };
    const fused = all('auto');
    const tfjs = all('tfjs');
    expect(fused.r).toMatchObject({ engine: 'fused', device: 'webgpu', users: 80, k: 5 });
    expect(tfjs.r).toMatchObject({ engine: 'tfjs', users: 80, k: 5 });
    expect(fused.lines.map((l) => l.user)).toEqual(tfjs.lines.map((l) => l.user));
    for (const [i, l] of fused.lines.entries()) {
      const w = tfjs.lines[i]!;
      expect(l.scores.length, `user ${l.user}`).toBe(w.scores.length);
      for (const [j, sc] of l.scores.entries())
        expect(Math.abs(sc - w.scores[j]!), `user ${l.user}`).toBeLessThan(1e-4);
      // Items agree except where two scores are within 1e-4 (a near tie may swap).
      for (const [j, item] of l.items.entries()) {
        if (item === w.items[j]) continue;
        const near = [w.scores[j - 1], w.scores[j + 1]].some(
          (x) => x !== undefined && Math.abs(x - l.scores[j]!) < 1e-4,
        );
        expect(near, `user ${l.user} slot ${j}: ${item} where ${w.items[j]}`).toBe(true);
      }
    }
  });

  it('--engine auto picks the fused engine on WebGPU, which trains as the tfjs engine does', {
    timeout: 300_000,
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutrec-auto-webgpu-'));
    const common = ['train', '--backend', 'webgpu', '--json', '--epochs', '3', '--seed', '3'];
    const run = (engine: string) => {
      const out = join(dir, engine);
      const events = cutrec([...common, '--synth-users', '300', '--engine', engine, '--out', out]).events;
      const baselines = JSON.parse(readFileSync(join(out, 'baselines.json'), 'utf8')) as Event;
      return { events, baselines };
    };
    const auto = run('auto');
    const tfjs = run('tfjs');
    expect(auto.events[0]).toMatchObject({
      event: 'start',
      engine: 'fused',
      precision: 'fp32',
      backend: 'webgpu',
    });
    expect(tfjs.events[0]).toMatchObject({ event: 'start', engine: 'tfjs', backend: 'webgpu' });
    const losses = (ev: Event[]) => ev.filter((e) => e.event === 'epoch').map((e) => e.trainLoss as number);
    const [la, lt] = [losses(auto.events), losses(tfjs.events)];
    expect(la).toHaveLength(3);
    for (const [i, l] of la.entries())
      expect(Math.abs(l - lt[i]!), `epoch ${i} loss`).toBeLessThan(1e-4 * lt[i]!);
    const [da, dt] = [auto.events.at(-1)!, tfjs.events.at(-1)!];
    expect(Math.abs(da.test['ndcg@10'] - dt.test['ndcg@10'])).toBeLessThan(1e-3);
    expect(da.test['ndcg@10']).toBeGreaterThan(3 * auto.baselines.popularity.test['ndcg@10']);
    expect(da.test['ndcg@10']).toBeGreaterThan(0.6 * auto.baselines.plantedBest.test['ndcg@10']);
  });

  it.skipIf(!device?.features.has('shader-f16'))(
    '--precision f16 trains to the quality of fp32 and resumes in f16',
    {
      timeout: 300_000,
    },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'cutrec-f16-webgpu-'));
      const common = ['train', '--backend', 'webgpu', '--json', '--seed', '3', '--synth-users', '300'];
      const run = (precision: string, epochs: string) => {
        const out = join(dir, precision);
        const args = [...common, '--epochs', epochs, '--engine', 'fused', '--precision', precision];
        const events = cutrec([...args, '--out', out]).events;
        const baselines = JSON.parse(readFileSync(join(out, 'baselines.json'), 'utf8')) as Event;
        return { out, events, baselines };
      };
      const half = run('f16', '2');
      const full = run('fp32', '3');
      expect(half.events[0]).toMatchObject({
        event: 'start',
        engine: 'fused',
        precision: 'f16',
        backend: 'webgpu',
      });
      const resumed = cutrec(['train', '--resume', half.out, '--epochs', '3', '--json']).events;
      expect(resumed[0]).toMatchObject({ event: 'start', resumed: true, startEpoch: 2, precision: 'f16' });
      const losses = (ev: Event[]) => ev.filter((e) => e.event === 'epoch').map((e) => e.trainLoss as number);
      const [lh, lf] = [[...losses(half.events), ...losses(resumed)], losses(full.events)];
      expect(lh).toHaveLength(3);
      for (const [i, l] of lh.entries())
        expect(Math.abs(l - lf[i]!), `epoch ${i} loss: f16 ${l}, fp32 ${lf[i]}`).toBeLessThan(1e-2 * lf[i]!);
      const [dh, df] = [resumed.at(-1)!, full.events.at(-1)!];
      expect(Math.abs(dh.test['ndcg@10'] - df.test['ndcg@10'])).toBeLessThan(0.02);
      expect(dh.test['ndcg@10']).toBeGreaterThan(3 * half.baselines.popularity.test['ndcg@10']);
      expect(dh.test['ndcg@10']).toBeGreaterThan(0.6 * half.baselines.plantedBest.test['ndcg@10']);
    },
  );
});
