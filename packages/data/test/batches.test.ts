import { describe, expect, it } from 'vitest';
import { countTrainingBatches, evaluationBatches, trainingBatches } from '../src/index.js';

const train = [Int32Array.of(0, 1, 2, 3, 4), Int32Array.of(5), Int32Array.of(6, 7), Int32Array.of(1, 2, 3)];

describe('trainingBatches', () => {
  it('shifts inputs against targets, keeps the last L positions, and left-pads', () => {
    const batches = [...trainingBatches(train, { batchSize: 8, maxLen: 3, numItems: 9, shuffle: false })];
    expect(batches).toHaveLength(1);
    const b = batches[0]!;
    expect(b.batchSize).toBe(3); // user 1 (one item) has no target and is skipped
    expect(b.maxLen).toBe(3);
    expect(Array.from(b.users)).toEqual([0, 2, 3]);
    expect(Array.from(b.inputs)).toEqual([1, 2, 3, 9, 9, 6, 9, 1, 2]);
    expect(Array.from(b.targets)).toEqual([2, 3, 4, -1, -1, 7, -1, 2, 3]);
  });

  it('uses padId and ignoreIndex when given', () => {
    const [b] = [
      ...trainingBatches([Int32Array.of(4, 5)], {
        batchSize: 1,
        maxLen: 3,
        numItems: 6,
        padId: 0,
        ignoreIndex: -100,
      }),
    ];
    expect(Array.from(b!.inputs)).toEqual([0, 0, 4]);
    expect(Array.from(b!.targets)).toEqual([-100, -100, 5]);
  });

  it('every input/target pair is a consecutive pair of the user sequence', () => {
    for (const b of trainingBatches(train, { batchSize: 2, maxLen: 4, numItems: 9, seed: 3 })) {
      for (let r = 0; r < b.batchSize; r++) {
        const s = Array.from(train[b.users[r]!]!);
        for (let t = 0; t < b.maxLen; t++) {
          const x = b.inputs[r * b.maxLen + t]!;
          const y = b.targets[r * b.maxLen + t]!;
          if (y === -1) {
            expect(x).toBe(9);
            continue;
          }
          const k = s.length - 1 - (b.maxLen - 1 - t);
          expect([s[k - 1], s[k]]).toEqual([x, y]);
        }
      }
    }
  });

  it('shuffles reproducibly from (seed, epoch), differently across epochs, covering every user once', () => {
    const many = Array.from({ length: 50 }, (_, u) => Int32Array.of(u % 7, (u + 1) % 7, (u + 2) % 7));
    const order = (seed: number, epoch: number) =>
      [...trainingBatches(many, { batchSize: 7, maxLen: 2, numItems: 7, seed }, epoch)].flatMap((b) =>
        Array.from(b.users),
      );
    expect(order(1, 0)).toEqual(order(1, 0));
    expect(order(1, 0)).not.toEqual(order(1, 1));
    expect(order(1, 0)).not.toEqual(order(2, 0));
    expect([...order(1, 5)].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, u) => u));
  });

  it('counts batches per epoch, with and without dropLast', () => {
    const many = Array.from({ length: 10 }, () => Int32Array.of(0, 1));
    expect(countTrainingBatches(many, { batchSize: 4, maxLen: 2, numItems: 2 })).toBe(3);
    expect(countTrainingBatches(many, { batchSize: 4, maxLen: 2, numItems: 2, dropLast: true })).toBe(2);
    expect([...trainingBatches(many, { batchSize: 4, maxLen: 2, numItems: 2, dropLast: true })]).toHaveLength(
      2,
    );
    expect(
      [...trainingBatches(many, { batchSize: 4, maxLen: 2, numItems: 2 })].map((b) => b.batchSize),
    ).toEqual([4, 4, 2]);
  });

  it('rejects bad sizes naming the option', () => {
    expect(() => [...trainingBatches(train, { batchSize: 0, maxLen: 2, numItems: 9 })]).toThrow(
      'batchSize must be an integer ≥ 1',
    );
    expect(() => countTrainingBatches(train, { batchSize: 2, maxLen: 1.5, numItems: 9 })).toThrow(
      'maxLen must be',
    );
  });
});

describe('evaluationBatches', () => {
  it('left-pads the last L history items and carries targets and users', () => {
    const ex = [
      { user: 4, history: Int32Array.of(1, 2, 3, 4), target: 5 },
      { user: 7, history: Int32Array.of(6), target: 0 },
      { user: 9, history: Int32Array.of(), target: 2 },
    ];
    const bs = [...evaluationBatches(ex, { batchSize: 2, maxLen: 3, numItems: 8 })];
    expect(bs.map((b) => b.batchSize)).toEqual([2, 1]);
    expect(Array.from(bs[0]!.inputs)).toEqual([2, 3, 4, 8, 8, 6]);
    expect(Array.from(bs[0]!.targets)).toEqual([5, 0]);
    expect(Array.from(bs[0]!.users)).toEqual([4, 7]);
    expect(bs[0]!.examples).toEqual(ex.slice(0, 2));
    expect(Array.from(bs[1]!.inputs)).toEqual([8, 8, 8]);
  });
});
