import { defineConfig } from 'tsup';

export default defineConfig({
  // The Parquet worker is a file of its own next to the bundle (dist/parquet-worker.js), where
  // src/readers/parquet-decode.ts looks for it: new URL('./parquet-worker.js', import.meta.url).
  entry: { index: 'src/index.ts', 'parquet-worker': 'src/readers/parquet-worker.js' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
});
