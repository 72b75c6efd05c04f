import type { CceImpl, CceImplementation } from './options.js';
import { referenceImplementation } from './reference/index.js';
import { tfjsImplementation } from './tfjs/index.js';

type ImplName = Exclude<CceImpl, 'auto'>;

// 'reference' and 'tfjs' are always there; 'wgsl' and 'cuda' register themselves from index.ts.
const registry = new Map<ImplName, CceImplementation>([
  ['reference', referenceImplementation],
  ['tfjs', tfjsImplementation],
]);

/** Makes an implementation of the loss contract available to `cceLoss` under `impl.name` (replacing any). */
export function registerImplementation(impl: CceImplementation): void {
  if (typeof impl?.forward !== 'function' || typeof impl.backward !== 'function') {
    throw new TypeError('registerImplementation: impl must have forward and backward functions');
  }
  registry.set(impl.name, impl);
}

/** The implementation registered under `name`; throws naming the registered ones when absent. */
export function getImplementation(name: ImplName): CceImplementation {
  const impl = registry.get(name);
  if (!impl) {
    throw new RangeError(
      `cceLoss: implementation '${name}' is not registered (registered: ${[...registry.keys()].join(', ')})`,
    );
  }
  return impl;
}

/** Whether an implementation is registered under `name`. */
export function hasImplementation(name: ImplName): boolean {
  return registry.has(name);
}
