export type { CceImpl, CceOptions, ResolvedCceOptions } from './options.js';
