export type {
  CceForwardResult,
  CceGradients,
  CceImpl,
  CceImplementation,
  CceOptions,
  ResolvedCceOptions,
} from './options.js';
