/**
 * Drives the built `cutrec` (dist/cli.js) as a child process on a small synthetic dataset: train,
 * interrupt with SIGINT mid-training, resume, evaluate, recommend; checks the run folder, the JSON
 * events, the report, and that the resumed run ends with the same parameters as an uninterrupted one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '@cutrec/models';
import { beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cutrec-e2e-'));

/** A tiny synthetic problem on the CPU backend: 8 steps per epoch, seconds per run. */
const SMALL = [
  '--synth-users', '120', '--synth-items', '40', '--synth-min-length', '6', '--synth-max-length', '10',
  '--hidden', '8', '--blocks', '1', '--heads', '1', '--batch-size', '16', '--negatives', '8',
  '--epochs', '3', '--backend', 'cpu', '--lr', '0.01', '--patience', '0', '--seed', '7',
]; // biome-ignore format: flag pairs

type Event = Record<string, unknown> & { event: string };

function runCli(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: work });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function events(stdout: string): Event[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Event);
}

/** Runs the CLI; sends `signal` once an event satisfies `when`; resolves with its exit code and events. */
function runUntil(args: string[], when: (e: Event) => boolean, signal: NodeJS.Signals) {
  return new Promise<{ code: number | null; events: Event[]; stderr: string }>((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [cli, ...args], { cwd: work });
    const seen: Event[] = [];
    let buf = '';
    let stderr = '';
    let sent = false;
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        if (!line.trim()) continue;
        const e = JSON.parse(line) as Event;
        seen.push(e);
        if (!sent && when(e)) {
          sent = true;
          child.kill(signal);
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, events: seen, stderr }));
  });
}

function modelTensors(path: string) {
  return readCheckpoint(path).then(({ tensors, info }) => ({ tensors, info }));
}

describe('cutrec train / evaluate / recommend end to end', () => {
  const full = join(work, 'full');
  const resumed = join(work, 'resumed');

  /**
   * The uninterrupted run that several tests read: trained once, by whichever test asks first, so
   * that any test also runs alone (`-t`) or in any order.
   */
  let fullRun: { code: number | null; stderr: string; events: Event[] } | undefined;
  function trainedFull(): Event[] {
    if (!fullRun) {
      const r = runCli(['train', ...SMALL, '--json', '--out', full]);
      fullRun = { code: r.code, stderr: r.stderr, events: r.code === 0 ? events(r.stdout) : [] };
    }
    expect(fullRun.code, `the uninterrupted run failed: ${fullRun.stderr}`).toBe(0);
    return fullRun.events;
  }

  beforeAll(() => {
    if (!existsSync(cli)) throw new Error(`build the trainer first (npx tsup): ${cli} is missing`);
  });

  it('trains to the end and writes the run folder', () => {
    const fullEvents = trainedFull();
    const kinds = fullEvents.map((e) => e.event);
    expect(kinds[0]).toBe('start');
    expect(kinds.at(-1)).toBe('done');
    expect(kinds.filter((k) => k === 'epoch')).toHaveLength(3);
    expect(kinds).toContain('eval');
    expect(kinds).toContain('checkpoint');
    const start = fullEvents[0]!;
    expect(start.runDir).toBe(full);
    expect((start.popularity as { test: Record<string, number> }).test['ndcg@10']).toBeGreaterThan(0);
    const done = fullEvents.at(-1)!;
    expect(done.runDir).toBe(full);
    expect(Object.keys(done.test as object)).toEqual(
      expect.arrayContaining(['ndcg@10', 'hr@10', 'ndcg@100']),
    );
    expect(done.peakGpuBytes).toBeNull(); // CPU backend

    const config = JSON.parse(readFileSync(join(full, 'config.json'), 'utf8'));
    expect(config.model).toMatchObject({ hidden: 8, numBlocks: 1, maxLen: 7 });
    expect(config.dataset.synthetic.numUsers).toBe(120);
    const lines = readFileSync(join(full, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    for (const [i, l] of lines.slice(0, 3).entries()) {
      expect(l).toMatchObject({ type: 'epoch', epoch: i, step: 8 * (i + 1), peakGpuBytes: null });
      expect(l.trainLoss).toBeGreaterThan(0);
      expect(l.epochTimeSec).toBeGreaterThan(0);
      expect(l.positionsPerSec).toBeGreaterThan(0);
      expect(l.valid['ndcg@10']).toBeGreaterThanOrEqual(0);
    }
    expect(lines[3]).toMatchObject({ type: 'test' });
    expect(lines[3].test['hr@10']).toBeGreaterThanOrEqual(lines[3].test['ndcg@10']);
    for (const f of [
      'checkpoints/best.safetensors',
      'checkpoints/last.safetensors',
      'baselines.json',
      'test-metrics.json',
    ]) {
      expect(existsSync(join(full, f)), f).toBe(true);
    }
    const report = readFileSync(join(full, 'report.html'), 'utf8');
    expect(report.match(/<svg/g)?.length).toBeGreaterThanOrEqual(3); // loss, validation, test vs popularity
    expect(report).toMatch(/Training loss/);
    expect(report).toMatch(/Validation metrics/);
    expect(report).toMatch(/SASRec vs popularity/);
    expect(report).toContain((done.test as Record<string, number>)['ndcg@10']!.toFixed(4));
    expect(report).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(report).toMatch(/backend cpu/);
    const again = runCli(['report', full]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(full, 'report.html'), 'utf8')).toBe(report);
  });

  it('stops on SIGINT after the current step, and resumes to the same parameters', async () => {
    const fullEvents = trainedFull();
    const r = await runUntil(
      ['train', ...SMALL, '--json', '--out', resumed],
      (e) => e.event === 'start',
      'SIGINT',
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted \(SIGINT\)/);
    expect(r.stderr).toMatch(/cutrec train --resume /);
    const stop = r.events.find((e) => e.event === 'interrupted');
    expect(stop).toBeDefined();
    expect(existsSync(join(resumed, 'checkpoints', 'last.safetensors'))).toBe(true);
    const at = await modelTensors(join(resumed, 'checkpoints', 'last.safetensors'));
    expect(at.info.step).toBeLessThan(24);

    const again = runCli(['train', '--resume', resumed, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const ev = events(again.stdout);
    expect(ev[0]).toMatchObject({ event: 'start', resumed: true });
    expect(ev.at(-1)).toMatchObject({ event: 'done', runDir: resumed });

    const a = await modelTensors(join(full, 'checkpoints', 'last.safetensors'));
    const b = await modelTensors(join(resumed, 'checkpoints', 'last.safetensors'));
    expect(b.info.step).toBe(a.info.step);
    expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
    for (const name of Object.keys(a.tensors)) {
      const x = a.tensors[name]!.data as Float32Array;
      const y = b.tensors[name]!.data as Float32Array;
      expect(
        Buffer.from(y.buffer, y.byteOffset, y.byteLength).equals(
          Buffer.from(x.buffer, x.byteOffset, x.byteLength),
        ),
        name,
      ).toBe(true);
    }
    const lines = readFileSync(join(resumed, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['epoch', 'epoch', 'epoch', 'test']);
    const fullTest = fullEvents.at(-1)!.test as Record<string, number>;
    expect(lines[3].test).toEqual(fullTest);
  });

  it('evaluates a run at k = 1, 5, 10, 20, 100, as a table and as JSON', () => {
    const fullEvents = trainedFull();
    const j = runCli(['evaluate', full, '--json']);
    expect(j.code, j.stderr).toBe(0);
    const rep = JSON.parse(j.stdout);
    expect(rep.ks).toEqual([1, 5, 10, 20, 100]);
    expect(rep.model['ndcg@10']).toBeCloseTo(
      (fullEvents.at(-1)!.test as Record<string, number>)['ndcg@10']!,
      12,
    );
    expect(rep.popularity['hr@100']).toBe(1); // 40 items: everything is in the top 100
    const t = runCli(['evaluate', full]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/@1\s+@5\s+@10\s+@20\s+@100/);
    expect(t.stdout).toMatch(/SASRec ndcg/);
    expect(t.stdout).toMatch(/popularity hr/);
  });

  it('recommends top-k items with original ids, excluding seen items', () => {
    trainedFull();
    const u = runCli(['recommend', full, '--user', '3', '--k', '5', '--json']);
    expect(u.code, u.stderr).toBe(0);
    const rec = JSON.parse(u.stdout);
    expect(rec.items).toHaveLength(5);
    expect(rec.history.length).toBeGreaterThan(0);
    for (const it of rec.items) {
      expect(typeof it.item).toBe('string');
      expect(rec.history).not.toContain(it.item);
    }
    const scores = rec.items.map((i: { score: number }) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);

    const items = runCli(['recommend', full, '--items', `${rec.history[0]},${rec.history[1]}`, '--k', '3']);
    expect(items.code, items.stderr).toBe(0);
    expect(items.stdout).toMatch(/top 3 for items/);
    const bad = runCli(['recommend', full, '--items', 'no-such-item']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--items: no item 'no-such-item'/);
  });

  it('reports configuration errors naming the flag or field', () => {
    const flag = runCli(['train', '--batch-size', '0', '--out', join(work, 'never')]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/--batch-size: must be ≥ 1, got 0/);
    expect(existsSync(join(work, 'never'))).toBe(false);
    const choice = runCli(['train', '--loss', 'softmax']);
    expect(choice.code).not.toBe(0);
    expect(choice.stderr).toMatch(/--loss.*softmax.*ce, cce-, bce, gbce/s);
    const file = join(work, 'bad.yaml');
    writeFileSync(file, 'loss:\n  kind: cce-\n  share: rows\noptimizer:\n  betas: [0.9, 1.5]\n');
    const cfg = runCli(['train', '--config', file, '--json']);
    expect(cfg.code).toBe(1);
    expect(cfg.stderr).toMatch(/config loss\.share: must be one of "row", "block", "batch", got "rows"/);
    expect(cfg.stderr).toMatch(/config optimizer\.betas\.1: must be < 1, got 1\.5/);
    expect(events(cfg.stdout)).toEqual([
      { event: 'error', message: expect.stringMatching(/invalid configuration/) },
    ]);
  });

  it('names the file and line of a bad dataset', () => {
    const data = join(work, 'broken.csv');
    writeFileSync(data, 'user,item,timestamp\n1,10,5\n1,11,oops\n');
    const r = runCli(['train', '--data', data, '--format', 'csv', '--backend', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.csv:3/);
  });
});
