import { native } from './native.js';

/** 'cpu', 'cuda' or 'cuda:N' — the strings libtorch's Device accepts. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export const cuda = {
  /** Whether libtorch was built with CUDA and sees a GPU. */
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
};

export function checkDevice(d: string): Device {
  if (d === 'cpu' || d === 'cuda' || /^cuda:\d+$/.test(d)) return d as Device;
  throw new TypeError(`unknown device '${d}': use 'cpu', 'cuda' or 'cuda:N'`);
}
