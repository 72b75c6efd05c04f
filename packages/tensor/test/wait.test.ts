/**
 * waitQuietly: passes values and rejections through, lets timers run while it waits, and turns
 * the event loop about once per slice rather than as fast as it can (what Dawn's Node binding
 * does while a read-back is pending: a setImmediate that re-queues itself, simulated here).
 */
import { describe, expect, it } from 'vitest';
import { waitQuietly } from '../src/index.js';

const after = <T>(ms: number, value: T) => new Promise<T>((done) => setTimeout(() => done(value), ms));

/** A poller like Dawn's: re-queues itself with setImmediate until stopped; counts its turns. */
function poller(): { turns: () => number; stop: () => void } {
  let turns = 0;
  let on = true;
  const tick = () => {
    if (!on) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { turns: () => turns, stop: () => (on = false) };
}

describe('waitQuietly', () => {
  it('resolves to the value, rejects with the error, and takes a promise that is already done', async () => {
    expect(await waitQuietly(after(5, 42))).toBe(42);
    await expect(waitQuietly(Promise.reject(new RangeError('no')))).rejects.toThrow('no');
    expect(await waitQuietly(Promise.resolve('now'))).toBe('now');
  });

  it('runs timers while waiting', async () => {
    let fired = false;
    setTimeout(() => (fired = true), 10);
    await waitQuietly(after(40, 0));
    expect(fired).toBe(true);
  });

  it('turns a spinning poller about once per slice (2 ms slices over a 100 ms wait)', async () => {
    const quiet = poller();
    await waitQuietly(after(100, 0), { sliceMs: 2 });
    quiet.stop();
    const loud = poller();
    await after(100, 0);
    loud.stop();
    // 100 ms / 2 ms = 50 turns when quiet (a few more at the edges); a plain await spins freely.
    expect(quiet.turns()).toBeLessThanOrEqual(60);
    expect(loud.turns()).toBeGreaterThan(5 * quiet.turns());
  });
});
