/**
 * Before `cutrec train` touches a device or makes a folder: the run's whole configuration,
 * validated, and where it goes (a new folder, the default one, or a run to continue), checked.
 * Then, once the data and the backend are ready, making the run folder.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkLossImpl } from '../backend.js';
import { ConfigError, mergeFlags, validateConfig } from '../config/load.js';
import type { TrainConfig } from '../config/schema.js';
import { checkDataFile, datasetName } from '../data.js';
import {
  checkOutFolder,
  claimDefaultRunDir,
  claimRunFolder,
  defaultRunDir,
  type RunPaths,
  readJson,
  removeTemporaries,
  runPaths,
  truncateMetrics,
  writeJson,
} from './run-folder.js';

/** What a run starts from: nothing (a new folder), or a run folder with or without a checkpoint. */
export type RunKind = 'new' | 'resume' | 'restart';

/** A run's configuration and folder, checked; nothing made yet. */
export interface RunPlan {
  config: TrainConfig;
  kind: RunKind;
  /** The folder (for a new run without `--out`, the name that {@link openRunFolder} makes unique). */
  dir: string;
  /** Whether `dir` came from `--out`. */
  explicit: boolean;
  overwrite: boolean;
}

/** The flags a resumed run may change, as commander gives them. */
export interface ResumeOverrides {
  epochs?: unknown;
  patience?: unknown;
}

function planResume(dir: string, overrides: ResumeOverrides): RunPlan {
  const paths = runPaths(dir);
  if (!existsSync(paths.config)) {
    throw new ConfigError(`--resume ${dir}: not a cutrec run folder (it has no config.json)`);
  }
  const flags = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const config = validateConfig(mergeFlags(readJson(paths.config), flags), flags);
  checkDataFile(config, `dataset.path of ${paths.config}`);
  // A run killed before its first checkpoint starts again from its first step.
  const kind = existsSync(paths.last) ? 'resume' : 'restart';
  return { config, kind, dir: paths.dir, explicit: true, overwrite: false };
}

/** Checks `config` and the run folder of a new run or of `resume`; throws a one-line error. */
export function planRun(req: {
  config: TrainConfig;
  out?: string;
  overwrite?: boolean;
  resume?: string;
  resumeOverrides?: ResumeOverrides;
}): RunPlan {
  const plan = req.resume !== undefined ? planResume(req.resume, req.resumeOverrides ?? {}) : planNew(req);
  checkLossImpl(plan.config.loss.impl);
  return plan;
}

function planNew(req: { config: TrainConfig; out?: string; overwrite?: boolean }): RunPlan {
  let config = req.config;
  // The run folder's config must find the data again from any directory (evaluate, resume).
  if (config.dataset.path !== null) {
    config = { ...config, dataset: { ...config.dataset, path: resolve(config.dataset.path) } };
  }
  checkDataFile(config);
  const overwrite = req.overwrite === true;
  if (req.out === undefined) {
    return {
      config,
      kind: 'new',
      dir: defaultRunDir(datasetName(config), config.loss.kind),
      explicit: false,
      overwrite,
    };
  }
  const dir = resolve(req.out);
  checkOutFolder(dir, overwrite);
  return { config, kind: 'new', dir, explicit: true, overwrite };
}

/**
 * Makes (new run) or tidies (resumed run) the run folder of `plan`; a new run's `config` (resolved
 * from its data) is written before its checkpoints folder, so a folder holding a run has a config.
 */
export function openRunFolder(plan: RunPlan, config: TrainConfig): RunPaths {
  if (plan.kind === 'new') {
    const paths = runPaths(plan.explicit ? plan.dir : claimDefaultRunDir(plan.dir));
    if (plan.explicit) claimRunFolder(paths, plan.overwrite);
    writeJson(paths.config, config);
    mkdirSync(paths.checkpoints, { recursive: true });
    return paths;
  }
  const paths = runPaths(plan.dir);
  removeTemporaries(paths);
  if (plan.kind === 'restart') {
    rmSync(paths.best, { force: true });
    mkdirSync(paths.checkpoints, { recursive: true });
    truncateMetrics(paths, 0);
  }
  return paths;
}
