import { describeContract } from './contract.js';

// The 'tfjs' implementation on tfjs's CPU backend, and the same with tiny chunks everywhere.
describeContract('tfjs', { backend: 'cpu' });
describeContract('tfjs', { backend: 'cpu', extraOptions: { chunkSize: 3 } });
