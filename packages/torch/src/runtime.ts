// Seeds, RNG state, threads, version and memory statistics.
import { native } from './native.js';
import { checkDevice, type Device } from './device.js';
import { th, type Tensor, wrap } from './tensor.js';

/** Seeds the CPU generator and every CUDA generator (torch.manual_seed). */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed);
}
/** The default generator's state as a uint8 tensor (torch.get_rng_state / cuda.get_rng_state). */
export function getRngState(device: Device = 'cpu'): Tensor {
  return wrap(native.getRngState(checkDevice(device)));
}
export function setRngState(state: Tensor, device: Device = 'cpu'): void {
  native.setRngState(th(state, 'state'), checkDevice(device));
}
export const setNumThreads = (n: number): void => native.setNumThreads(n);
export const getNumThreads = (): number => native.getNumThreads();
/** The libtorch version the addon was built against (e.g. "1.13.0"). */
export const libtorchVersion = (): string => native.version();
/** Native bytes held by live tensors (counted once per storage) and the number of live tensors. */
export const memoryStats = (): { trackedBytes: number; liveTensors: number; storages: number } => native.memoryStats();
