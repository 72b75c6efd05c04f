/** The `cutrec` command line as a library: build or run it programmatically. */

export { collectInfo, formatInfo, type InfoReport } from './info.js';
export { buildProgram, runCli } from './program.js';
