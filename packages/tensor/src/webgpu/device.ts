/**
 * Getting a WebGPU device: Dawn's `webgpu` package in Node, `navigator.gpu` in a browser.
 */

/** The Debian/Ubuntu command that installs Mesa's software Vulkan driver (lavapipe) new enough for Dawn. */
export const LAVAPIPE_INSTALL_COMMAND =
  "echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bpo.list && " +
  'apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers';

/** Optional features cutrec uses when the adapter has them. */
export const OPTIONAL_FEATURES = ['subgroups', 'shader-f16', 'timestamp-query'] as const;

export interface CreateDeviceOptions {
  /** Passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /** Features that must exist; creation fails naming the missing one. */
  requiredFeatures?: GPUFeatureName[];
  /** Also request the optional features the adapter has (subgroups, shader-f16, timestamp-query). Default true. */
  optionalFeatures?: boolean;
  /** Dawn toggles for Node, e.g. `['enable-dawn-features=allow_unsafe_apis']`. */
  dawnFlags?: string[];
  /** A `GPU` object to use instead of discovering one (tests, custom set-ups). */
  gpu?: GPU;
}

/** What cutrec knows about a device it created. */
interface DeviceRecord {
  adapter: GPUAdapter;
  adapterInfo: GPUAdapterInfo;
  runtime: 'dawn-node' | 'browser' | 'custom';
}

const records = new WeakMap<GPUDevice, DeviceRecord>();

/** The record of a device made by {@link createDevice}; undefined for foreign devices. */
export function deviceRecord(device: GPUDevice): DeviceRecord | undefined {
  return records.get(device);
}

/** Thrown when no WebGPU adapter can be found; the message says why and how to get one. */
export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

/** Whether this runs in Node (not a browser). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

let nodeGpu: Promise<GPU> | undefined;

/**
 * Returns the `GPU` entry point: `navigator.gpu` where it exists, else Dawn's `webgpu` package in
 * Node (whose globals such as `GPUBufferUsage` it installs, together with `navigator.gpu`, since
 * Node 20 has no `navigator`). Rejects with {@link NoAdapterError} where neither exists.
 */
export function getGPU(dawnFlags: string[] = []): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return Promise.resolve(nav.gpu);
  if (!isNode()) {
    return Promise.reject(
      new NoAdapterError(
        'WebGPU is not available: this browser has no navigator.gpu (try a current Chrome or Edge).',
      ),
    );
  }
  nodeGpu ??= (async () => {
    let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      mod = (await import('webgpu')) as unknown as typeof mod;
    } catch (err) {
      nodeGpu = undefined;
      throw new NoAdapterError(
        `WebGPU is not available: the 'webgpu' package (Dawn for Node) could not be loaded (${(err as Error).message}). ` +
          'Install it with `npm install webgpu`.',
      );
    }
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    const gpu = mod.create(dawnFlags);
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (!g.navigator) {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } else if (!g.navigator.gpu) {
      try {
        Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      } catch {
        /* a frozen navigator: callers still get gpu from this function */
      }
    }
    return gpu;
  })();
  return nodeGpu;
}

/** Why there is no adapter and how to get one (Node or browser wording). */
export function noAdapterMessage(): string {
  const lines = ['No WebGPU adapter was found.'];
  if (isNode()) {
    lines.push(
      "In Node, cutrec uses Dawn (the 'webgpu' package), which needs a Vulkan driver on Linux (Metal on macOS, D3D12 on Windows).",
      '- With a GPU: install its driver with Vulkan support (NVIDIA: the proprietary driver and libvulkan1; AMD/Intel: Mesa).',
      '- Without a GPU on Debian/Ubuntu: install Mesa 24+ software Vulkan (lavapipe); Debian bookworm needs backports:',
      `    ${LAVAPIPE_INSTALL_COMMAND}`,
      'Check with `vulkaninfo --summary` (package vulkan-tools). Or use the CPU backend: setupTfjs({ backend: "cpu" }).',
    );
  } else {
    lines.push(
      'This browser exposes navigator.gpu but gave no adapter: check that hardware acceleration is on.',
    );
  }
  return lines.join('\n');
}

/**
 * Creates a WebGPU `GPUDevice` with the adapter's maximum buffer limits and the optional features
 * it has (subgroups, shader-f16, timestamp-query). Rejects with {@link NoAdapterError} (saying how to
 * get an adapter) where there is none.
 */
export async function createDevice(options: CreateDeviceOptions = {}): Promise<GPUDevice> {
  const gpu = options.gpu ?? (await getGPU(options.dawnFlags));
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
  );
  if (!adapter) throw new NoAdapterError(noAdapterMessage());

  const wanted = new Set<GPUFeatureName>(options.requiredFeatures ?? []);
  for (const f of wanted) {
    if (!adapter.features.has(f)) {
      throw new Error(
        `createDevice: options.requiredFeatures asks for '${f}', which the adapter '${adapter.info.description || adapter.info.vendor}' does not have (it has: ${[...adapter.features].join(', ')})`,
      );
    }
  }
  if (options.optionalFeatures !== false) {
    for (const f of OPTIONAL_FEATURES) if (adapter.features.has(f)) wanted.add(f as GPUFeatureName);
  }
  const L = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxBufferSize: L.maxBufferSize,
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
  };
  const device = await adapter.requestDevice({ requiredFeatures: [...wanted], requiredLimits });
  const runtime = options.gpu ? 'custom' : isNode() ? 'dawn-node' : 'browser';
  records.set(device, { adapter, adapterInfo: adapter.info, runtime });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed')
      console.error(`cutrec: WebGPU device lost (${info.reason}): ${info.message}`);
  });
  return device;
}

/** Whether a WebGPU adapter can be had here; never throws. `reason` says why not. */
export async function probeWebGPU(): Promise<{
  available: boolean;
  reason?: string;
  adapter?: GPUAdapterInfo;
}> {
  try {
    const gpu = await getGPU();
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, reason: noAdapterMessage() };
    return { available: true, adapter: adapter.info };
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
}
