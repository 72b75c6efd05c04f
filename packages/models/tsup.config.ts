import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', onnx: 'src/export/onnx/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
});
