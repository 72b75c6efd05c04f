#!/usr/bin/env node
// The `cutrec` command: a committed file, so `npm ci` links it before the first build; the
// program itself is built into dist/ by `npm run build`.
import '../dist/cli.js';
