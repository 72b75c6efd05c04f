/**
 * The WGSL dropout mask equals `dropoutMaskHost` bit for bit (awkward n, rates 0 … 0.999, random
 * seed, site and stream; printed seed), and the runner's record-once / replay-per-step contract:
 * a `Recording` made once draws a fresh mask after the step counter changes, with no params
 * rewritten, and `setParams` takes effect on the next submission.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  activationForward,
  dropoutMaskHost,
  Runner,
  wgslActivationForward,
  wgslDropoutMask,
} from '../src/index.js';
import { testRng } from './ops/rng.js';
import { device, freeAll, gpuArray, relErr, skipReason } from './ops/wgsl-util.js';

describe.skipIf(skipReason !== undefined)('dropout (WGSL)', () => {
  afterEach(freeAll);
  it('the mask equals dropoutMaskHost bit for bit', async () => {
    const rng = testRng('wgsl dropout mask');
    const gpu = device as GPUDevice;
    for (const n of [1, 3, 4, 5, 257, 4099]) {
      for (const rate of [0, 0.1, 0.5, 0.999]) {
        const draw = {
          seed: rng.int(0, 2 ** 30) * 1024 + rng.int(0, 1023),
          site: rng.int(0, 20),
          stream: rng.int(0, 1e6),
        };
        const mask = gpuArray(n);
        wgslDropoutMask(gpu, { mask: mask.view.buffer, n, rate, draw });
        const host = new Uint32Array(dropoutMaskHost(n, rate, draw).buffer);
        expect(Array.from(await mask.readU32()), `n=${n} rate=${rate} ${JSON.stringify(draw)}`).toEqual(
          Array.from(host),
        );
      }
    }
  });

  it('a recording replays with the step counter it reads at run time, and setParams updates one dispatch', async () => {
    const rng = testRng('wgsl recording replay');
    const gpu = device as GPUDevice;
    const n = 1001;
    const pre = rng.floats(n);
    const seed = rng.int(0, 2 ** 30);
    const dropout = { seed, site: 5, rate: 0.4 };
    const step = gpuArray(1, new Int32Array([7]), { int: true });
    const gPre = gpuArray(n, pre);
    const out = gpuArray(n);
    const rec = Runner.of(gpu).record(
      wgslActivationForward(gpu, {
        pre: gPre.view,
        out: out.view,
        n,
        kind: 'relu',
        dropout,
        step: step.view,
      }),
      'replay-test',
    );
    for (const stream of [7, 8, 123456]) {
      gpu.queue.writeBuffer(step.view.buffer, 0, new Uint32Array([stream]));
      rec.submit();
      const want = new Float64Array(n);
      activationForward({ pre, out: want, n, kind: 'relu', dropout: { ...dropout, stream } });
      expect(relErr(await out.read(), want), `stream ${stream}`).toBeLessThanOrEqual(1e-6);
    }
    // GELU through setParams on the same recording (kind 1), same stream.
    rec.setParams(0, {
      ...(
        wgslActivationForward(gpu, {
          pre: gPre.view,
          out: out.view,
          n,
          kind: 'gelu',
          dropout,
          step: step.view,
        })[0] as { params: Record<string, number> }
      ).params,
    });
    rec.submit();
    const want = new Float64Array(n);
    activationForward({ pre, out: want, n, kind: 'gelu', dropout: { ...dropout, stream: 123456 } });
    expect(relErr(await out.read(), want)).toBeLessThanOrEqual(1e-5);
    rec.destroy();
  });
});
