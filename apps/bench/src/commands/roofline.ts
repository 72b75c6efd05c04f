/** The `roofline` command: device limits, then each loss kernel's share of them. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type BenchEnvironment, environment } from '../env.js';
import type { LossResult } from '../loss/bench.js';
import { progress } from '../progress.js';
import { rooflineMarkdown } from '../report/markdown.js';
import { rooflinePlot } from '../report/plots.js';
import {
  cudaCopyBandwidth,
  cudaTheoretical,
  type DeviceLimits,
  roofline,
  webgpuCopyBandwidth,
  webgpuMatmulRate,
} from '../roofline.js';
import { benchSetup, outputDir, writeResult } from '../setup.js';
import { type LossCliOptions, lossOptions, runLossCommand } from './loss.js';

interface RooflineCliOptions extends LossCliOptions {
  input?: string;
  copyMib?: string;
  matmulN?: string;
}

/** Registers `cutrec-bench roofline`. */
export function registerRoofline(program: Command): void {
  lossOptions(
    program
      .command('roofline')
      .description(
        'measured copy bandwidth and matmul rate, and the fraction of that limit each loss kernel reaches',
      )
      .option(
        '--input <loss.json>',
        'use the results of an earlier `cutrec-bench loss` run instead of measuring again',
      )
      .option(
        '--copy-mib <n>',
        'size of the buffer copy that measures bandwidth (default 1024; 16 with --quick)',
      )
      .option(
        '--matmul-n <n>',
        'n of the n×n×n matmul that measures the matmul rate (default 4096; 256 with --quick)',
      ),
  ).action(async (o: RooflineCliOptions) => {
    const bar = progress(Boolean(o.json));
    let results: LossResult[];
    let env: BenchEnvironment;
    let device: GPUDevice | null;
    if (o.input) {
      const file = JSON.parse(readFileSync(o.input, 'utf8')) as {
        environment: BenchEnvironment;
        results: LossResult[];
      };
      const setup = await benchSetup(o.backend as 'auto');
      results = file.results;
      device = setup.device;
      env = {
        ...environment(device),
        command: `${setup.env.command} (results from ${o.input}: ${file.environment.command})`,
      };
    } else {
      const run = await runLossCommand(o, Boolean(o.json));
      results = run.results;
      env = run.setup.env;
      device = run.setup.device;
    }
    const copyBytes = Number(o.copyMib ?? (o.quick ? 16 : 1024)) * 2 ** 20;
    const n = Number(o.matmulN ?? (o.quick ? 256 : 4096));
    let webgpu: DeviceLimits | null = null;
    if (device) {
      bar.log('measuring WebGPU copy bandwidth and matmul rate');
      webgpu = {
        copyBytesPerSec: await webgpuCopyBandwidth(device, copyBytes),
        copyHow: `copyBufferToBuffer of ${copyBytes / 2 ** 20} MiB (read + write), median of 5`,
        matmulFlopsPerSec: await webgpuMatmulRate(device, n),
        matmulHow: `tfjs matMul ${n}×${n}×${n} float32, median of 5`,
      };
    }
    let cuda: DeviceLimits | null = null;
    if (env.cuda) {
      bar.log('measuring CUDA copy bandwidth');
      const t = cudaTheoretical(env.cuda);
      cuda = {
        copyBytesPerSec: cudaCopyBandwidth(copyBytes),
        copyHow: `cuMemcpyDtoD of ${copyBytes / 2 ** 20} MiB (read + write), CUDA events, median of 5`,
        matmulFlopsPerSec: t.fp32,
        matmulHow:
          'theoretical FP32 on CUDA cores from SM count and clock (the CUDA kernels expose no matmul)',
        tensorFlopsPerSec: t.tensor,
        theoreticalBytesPerSec: t.dram,
      };
    }
    const rows = roofline(results, webgpu, cuda);
    bar.stop();
    const out = { environment: env, limits: { webgpu, cuda }, rows };
    if (o.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    if (o.out || !o.json) {
      const dir = outputDir(o.out, env);
      writeResult(dir, 'roofline.json', JSON.stringify(out, null, 2));
      const md = rooflineMarkdown(rows, { webgpu, cuda }, env);
      writeResult(dir, 'roofline.md', md);
      if (webgpu)
        writeResult(
          dir,
          'roofline-webgpu.svg',
          await rooflinePlot(
            rows.filter((r) => r.impl !== 'cuda'),
            webgpu,
            `Roofline (WebGPU, ${env.card})`,
          ),
        );
      if (cuda)
        writeResult(
          dir,
          'roofline-cuda.svg',
          await rooflinePlot(
            rows.filter((r) => r.impl === 'cuda'),
            {
              copyBytesPerSec: cuda.copyBytesPerSec,
              matmulFlopsPerSec: cuda.tensorFlopsPerSec ?? cuda.matmulFlopsPerSec,
            },
            `Roofline (CUDA, ${env.cuda?.name}; roof: bf16 tensor cores)`,
          ),
        );
      if (!o.json) process.stdout.write(`${md}\nwritten to ${dir}\n`);
    }
  });
}
