import { describe, expect, it } from 'vitest';
import * as pkg from '../src/index.js';

describe('package entry', () => {
  it('exports nothing until its work lands (see README)', () => {
    expect(Object.keys(pkg)).toEqual([]);
  });
});
