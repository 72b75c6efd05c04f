#!/usr/bin/env node
// The `cutrec-bench` command. A committed file, so that `npm ci` links it before the first build; the
// program itself is built into dist/ by `npm run build`.
const cli = new URL('../dist/cli.js', import.meta.url);
import(cli.href).catch((err) => {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes(cli.pathname)) throw err;
  process.stderr.write('cutrec-bench: not built yet; run `npm run build` first\n');
  process.exit(1);
});
