import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { createDevice, deviceRecord, isNode, NoAdapterError, noAdapterMessage } from '../webgpu/device.js';
import { probeAdapterInChild } from '../webgpu/probe.js';

export type BackendChoice = 'webgpu' | 'cpu' | 'auto';

export interface SetupTfjsOptions {
  /** 'webgpu' (fails where there is no adapter), 'cpu', or 'auto' (WebGPU when an adapter exists). Default 'auto'. */
  backend?: BackendChoice;
  /** The device tfjs's WebGPU backend must run on; default: {@link createDevice}'s. */
  device?: GPUDevice;
  /**
   * Node: first ask for an adapter in a child process (about 0.3 s more on lavapipe where there is one), so
   * that where there is none Dawn is never loaded here and its native warnings are not printed;
   * they end the NoAdapterError's message (`webgpu`) or the fallback reason (`auto`) instead.
   * Default false.
   */
  probe?: boolean;
}

export interface TfjsSetup {
  backend: 'webgpu' | 'cpu';
  /** Our device when the backend is WebGPU. */
  device?: GPUDevice;
  /** Why 'auto' fell back to the CPU. */
  fallbackReason?: string;
}

let current: TfjsSetup | undefined;

/** The set-up made by the last {@link setupTfjs}, if any. */
export function currentSetup(): TfjsSetup | undefined {
  return current;
}

/**
 * Makes tfjs run on WebGPU over *our* device (so cutrec's kernels and tfjs share buffers with no
 * copies), or on the CPU backend. `auto` takes WebGPU where an adapter exists.
 */
export async function setupTfjs(options: SetupTfjsOptions = {}): Promise<TfjsSetup> {
  const choice = options.backend ?? 'auto';
  if (choice !== 'webgpu' && choice !== 'cpu' && choice !== 'auto') {
    throw new Error(
      `setupTfjs: options.backend must be 'webgpu', 'cpu' or 'auto', got ${JSON.stringify(choice)}`,
    );
  }
  if (choice === 'cpu') {
    await tf.setBackend('cpu');
    await tf.ready();
    current = { backend: 'cpu' };
    return current;
  }
  let device = options.device;
  if (!device && current?.backend === 'webgpu' && tf.getBackend() === 'webgpu') device = current.device;
  const gpuGlobal = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  if (!device && options.probe && isNode() && !gpuGlobal) {
    const probe = await probeAdapterInChild();
    if (probe?.adapter === null) {
      const log = probe.log.trim();
      const reason = noAdapterMessage() + (log ? `\nDawn printed:\n${log}` : '');
      if (choice === 'webgpu') throw new NoAdapterError(reason);
      await tf.setBackend('cpu');
      await tf.ready();
      current = { backend: 'cpu', fallbackReason: reason };
      return current;
    }
  }
  try {
    device ??= await createDevice();
  } catch (err) {
    if (choice === 'webgpu') throw err;
    await tf.setBackend('cpu');
    current = { backend: 'cpu', fallbackReason: (err as Error).message };
    return current;
  }
  const alreadyOurs =
    current?.backend === 'webgpu' && current.device === device && tf.getBackend() === 'webgpu';
  if (!alreadyOurs) {
    const adapterInfo =
      deviceRecord(device)?.adapterInfo ?? ({ vendor: '', architecture: '' } as GPUAdapterInfo);
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
    // Kernels are registered by backend name, so the name must stay 'webgpu'.
    tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapterInfo), 3);
    const ok = await tf.setBackend('webgpu');
    if (!ok) throw new Error('setupTfjs: tfjs refused to initialise its WebGPU backend on the given device');
  }
  await tf.ready();
  // Else tfjs runs small ops on the CPU and leaves their tensors there.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  current = { backend: 'webgpu', device };
  return current;
}

/** The active tfjs WebGPU backend, or an error naming what is active instead. */
export function webgpuBackend(): WebGPUBackend {
  const name = tf.getBackend();
  if (name !== 'webgpu') {
    throw new Error(
      `cutrec: the active tfjs backend is '${name}', not 'webgpu'; call setupTfjs({ backend: 'webgpu' }) first`,
    );
  }
  return tf.backend() as unknown as WebGPUBackend;
}
