import type { CceImplementation } from '../options.js';
import { tfjsBackward } from './backward.js';
import { tfjsForward } from './forward.js';

export { tfjsBackward } from './backward.js';
export { tfjsForward } from './forward.js';
export { CHUNK_BUDGET_BYTES, chunkRows, planChunks } from './plan.js';

/** The portable implementation: tfjs ops in row chunks, on any tfjs backend. */
export const tfjsImplementation: CceImplementation = {
  name: 'tfjs',
  forward: tfjsForward,
  backward: tfjsBackward,
};
