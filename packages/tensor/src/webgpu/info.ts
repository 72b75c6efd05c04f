import { deviceRecord } from './device.js';

/** A WebGPU device described as plain data (JSON-serialisable). */
export interface DeviceInfo {
  api: 'webgpu';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  runtime: 'dawn-node' | 'browser' | 'custom' | 'unknown';
  features: string[];
  limits: Record<string, number>;
}

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxBindGroups',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

/** Adapter vendor/architecture/description, limits and features of a device, as data. */
export function deviceInfo(device: GPUDevice): DeviceInfo {
  const rec = deviceRecord(device);
  const info: Partial<GPUAdapterInfo> =
    rec?.adapterInfo ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo ?? {};
  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const v = (device.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') limits[name] = v;
  }
  return {
    api: 'webgpu',
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    runtime: rec?.runtime ?? 'unknown',
    features: [...device.features].map(String).sort(),
    limits,
  };
}
