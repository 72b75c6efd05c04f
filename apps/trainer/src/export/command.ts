/** The `cutrec export` command's flags and action. */
import { Command, Option } from 'commander';
import { exportRun, formatExport } from './export.js';

/** `cutrec export RUN --format onnx --out model.onnx [--k 100] [--scores]`. */
export function exportCommand(): Command {
  return new Command('export')
    .description(
      "write a run's model for serving: an ONNX graph (opset 17) with top-k, and <name>.ids.json beside it",
    )
    .argument('<run>', 'run folder')
    .addOption(new Option('--format <format>', 'model format').choices(['onnx']).default('onnx'))
    .option(
      '--out <file>',
      'model file (default RUN/model.onnx); the ids go to <file without .onnx>.ids.json',
    )
    .option('--k <k>', 'items per row in top_items / top_scores (default 100, at most the catalog size)')
    .option('--scores', "also output every item's score, scores [batch, C]")
    .option('--checkpoint <which>', 'best (default) or last')
    .option('--backend <backend>', 'auto, webgpu or cpu (default cpu: export only reads the weights)')
    .option('--json', 'print JSON')
    .action(async (run: string, opts) => {
      const r = await exportRun(run, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatExport(r)}\n`);
    });
}
