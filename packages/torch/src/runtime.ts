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
/**
 * Operator calls since start, by path through the binding: `unboxed` for ops whose arguments are all
 * Tensors and Scalars and that return one Tensor (called through the typed kernel), `boxed` for the
 * rest (the dispatcher's argument stack). A diagnostic: the hot elementwise ops should be unboxed.
 */
export const dispatchStats = (): { unboxed: number; boxed: number } => native.dispatchStats();

/** The CPU block cache (native/cpu_cache.cc): blocks of 1 MiB and more are reused instead of unmapped. */
export interface CpuCacheStats {
  /** False when ROBUSTA_CPU_CACHE_MB=0 turned it off. */
  enabled: boolean;
  /** Bytes of freed blocks held for reuse. */
  cachedBytes: number;
  /** The most it holds (ROBUSTA_CPU_CACHE_MB, default 1024 MiB). */
  limitBytes: number;
  /** Large allocations served from the cache, and those that were not. */
  hits: number;
  misses: number;
}
export const cpuCacheStats = (): CpuCacheStats => native.cpuCacheStats();
/** Frees every cached CPU block, giving the memory back (after a large job, before a different one). */
export const emptyCpuCache = (): void => native.emptyCpuCache();

export interface MemoryStats {
  /** Native bytes of the tensors outside every tidy() scope (counted once per storage): what V8 is told of. */
  trackedBytes: number;
  /** Tensors alive now. */
  liveTensors: number;
  /** Storages counted in trackedBytes. */
  storages: number;
  /**
   * Tensors the garbage collector has freed since start (their JS object was collected). A leak
   * check compares liveTensors + collectedTensors: a collection between two readings then does not
   * hide a leak, and a tensor left to the GC still counts as not disposed.
   */
  collectedTensors: number;
}
export const memoryStats = (): MemoryStats => native.memoryStats();
/**
 * Tensors made and never disposed (by dispose() or a tidy() scope), alive or since collected by the GC:
 * the count a leak check compares before and after. Unlike liveTensors it does not drop when the GC
 * frees some unrelated garbage tensor in between.
 */
export function tensorsNotDisposed(): number {
  const s = native.memoryStats();
  return s.liveTensors + s.collectedTensors;
}
