/**
 * Asks Dawn for a WebGPU adapter in a child Node process. Dawn prints its native diagnostics (the
 * Vulkan loader's "Warning: …" lines, `at CheckVkSuccessImpl …` where there is no driver) straight
 * to the process's stderr, where no JavaScript can filter them; in the child they are captured.
 * Node only (child_process is imported when called).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** What the child saw: the adapter's description (null: none), and what Dawn printed. */
export interface AdapterProbe {
  adapter: string | null;
  /** Dawn's stderr in the child. */
  log: string;
}

const CHILD = `
const { create } = await import(process.argv[1]);
const a = await create([]).requestAdapter();
process.stdout.write(JSON.stringify({ adapter: a ? a.info.description || a.info.vendor || 'WebGPU adapter' : null }));
process.exit(0);
`;

/**
 * Resolves with what a child process's Dawn finds (about 0.3 s on lavapipe), or with
 * undefined where the child gave no answer (the 'webgpu' package missing, a crash, `timeoutMs`
 * passed): then the caller should ask in-process as before.
 */
export async function probeAdapterInChild(timeoutMs = 60_000): Promise<AdapterProbe | undefined> {
  let url: string;
  try {
    url = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    return undefined;
  }
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD, url],
      { timeout: timeoutMs, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (err) return resolve(undefined);
        try {
          const { adapter } = JSON.parse(stdout) as { adapter: unknown };
          if (adapter !== null && typeof adapter !== 'string') return resolve(undefined);
          resolve({ adapter, log: stderr });
        } catch {
          resolve(undefined);
        }
      },
    );
  });
}
