import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupTfjs } from '@cutrec/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Batch,
  decodeSafetensors,
  encodeSafetensors,
  type LossSpec,
  loadCheckpoint,
  loadModel,
  SASRec,
  saveCheckpoint,
  Trainer,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cutrec-models-'));
beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('safetensors layout', () => {
  it('8-byte LE header length, space-padded JSON with dtype/shape/data_offsets and __metadata__, then raw LE data', () => {
    const a = Float32Array.from([1.5, -2, 3.25]);
    const b = Int32Array.from([7, -8]);
    const bytes = encodeSafetensors(
      { 'b.int': { dtype: 'I32', shape: [2, 1], data: b }, 'a.float': { dtype: 'F32', shape: [3], data: a } },
      { note: 'hi' },
    );
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.startsWith('{')).toBe(true);
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ note: 'hi' });
    expect(header['a.float']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    expect(header['b.int']).toEqual({ dtype: 'I32', shape: [2, 1], data_offsets: [12, 20] });
    expect(bytes.length).toBe(8 + n + 20);
    expect(view.getFloat32(8 + n + 4, true)).toBe(-2);
    expect(view.getInt32(8 + n + 16, true)).toBe(-8);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'hi' });
    expect(Array.from(back.tensors['a.float']!.data as Float32Array)).toEqual([1.5, -2, 3.25]);
    expect(back.tensors['b.int']!.shape).toEqual([2, 1]);
  });

  it('scalars, empty tensors and no metadata', () => {
    const bytes = encodeSafetensors({
      s: { dtype: 'F64', shape: [], data: Float64Array.from([Math.PI]) },
      e: { dtype: 'U8', shape: [0, 3], data: new Uint8Array(0) },
    });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({});
    expect(back.tensors.s!.data[0]).toBe(Math.PI);
    expect(back.tensors.e!.shape).toEqual([0, 3]);
  });

  it('rejects truncated or inconsistent files with a clear message', () => {
    const bytes = encodeSafetensors({ x: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    expect(() => decodeSafetensors(bytes.subarray(0, 4))).toThrow(/too short/);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/data_offsets/);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(() => decodeSafetensors(longer)).toThrow(/after the last tensor/);
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [5], data: new Float32Array(4) } })).toThrow(
      /shape/,
    );
  });
});

const C = 29;
const L = 5;

function batch(seed: number, B = 6): Batch {
  const inputs = new Int32Array(B * L).fill(C);
  const targets = new Int32Array(B * L).fill(-1);
  for (let b = 0; b < B; b++) {
    let item = (b * 5 + seed) % C;
    for (let t = b % 2; t < L; t++) {
      inputs[b * L + t] = item;
      item = (item * 7 + 3) % C;
      targets[b * L + t] = item;
    }
  }
  return { inputs, targets };
}

async function bits(model: SASRec): Promise<Uint32Array[]> {
  const out: Uint32Array[] = [];
  for (const p of model.parameters)
    out.push(new Uint32Array(Float32Array.from(await p.variable.data()).buffer));
  return out;
}

describe('checkpoints', () => {
  const losses: [string, LossSpec][] = [
    ['cce- (block)', { kind: 'cce-', negatives: 4, share: 'block', blockRows: 3, impl: 'tfjs' }],
    ['bce', { kind: 'bce', negatives: 2 }],
  ];
  for (const [name, loss] of losses) {
    it(`${name}: save, one more step; load, one more step → bit-identical parameters and moments`, async () => {
      const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, numBlocks: 1, dropout: 0.3, seed: 4 });
      const trainer = new Trainer(model, {
        loss,
        optimizer: {
          lr: 3e-3,
          weightDecay: 0.01,
          schedule: { kind: 'cosine', warmupSteps: 2, totalSteps: 20 },
        },
      });
      trainer.trainStep(batch(1));
      trainer.trainStep(batch(2));
      const path = join(dir, `${name.replace(/\W/g, '')}.safetensors`);
      await saveCheckpoint(path, trainer, { epoch: 3, batch: 17 });
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
      const lossA = trainer.trainStep(batch(3));
      const after = await bits(model);

      const { trainer: resumed, model: model2, info } = await loadCheckpoint(path);
      expect(info.step).toBe(2);
      expect(info.extra).toEqual({ epoch: '3', batch: '17' });
      expect(resumed.step).toBe(2);
      expect(resumed.optimizer.currentLr()).toBe(trainer.optimizer.config.lr * 1); // step 2: warmup done, cosine at 0
      const lossB = resumed.trainStep(batch(3));
      expect(lossB).toBe(lossA);
      const resumedBits = await bits(model2);
      for (let i = 0; i < after.length; i++) expect(resumedBits[i]).toEqual(after[i]);
      const ms = trainer.optimizer.state();
      const ms2 = resumed.optimizer.state();
      for (let i = 0; i < ms.length; i++) {
        expect(Array.from(await ms2[i]!.m.data())).toEqual(Array.from(await ms[i]!.m.data()));
        expect(Array.from(await ms2[i]!.v.data())).toEqual(Array.from(await ms[i]!.v.data()));
      }
      trainer.dispose();
      resumed.dispose();
      model.dispose();
      model2.dispose();
    });
  }

  it('the file is plain safetensors with the config in its metadata; loadModel restores weights', async () => {
    const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, numBlocks: 1, norm: 'post', seed: 8 });
    const trainer = new Trainer(model, { loss: { kind: 'ce', impl: 'tfjs' } });
    trainer.trainStep(batch(5));
    const path = join(dir, 'plain.safetensors');
    await saveCheckpoint(path, trainer);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)));
    expect(metadata.format).toBe('cutrec.sasrec.v1');
    expect(JSON.parse(metadata.config!).norm).toBe('post');
    expect(metadata.step).toBe('1');
    expect(tensors['model.item_emb']!.shape).toEqual([C + 1, 8]);
    expect(tensors['adam.v.item_emb']!.shape).toEqual([C + 1, 8]);
    const { model: m2 } = await loadModel(path);
    expect(await bits(m2)).toEqual(await bits(model));
    await expect(loadModel(join(dir, 'missing.safetensors'))).rejects.toThrow(/missing/);
    trainer.dispose();
    model.dispose();
    m2.dispose();
  });
});
