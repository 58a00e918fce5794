// Loads the compiled addon and resolves ATen operators by schema name, once each.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { TorchError } from './errors.js';
import type { CpuCacheStats } from './runtime.js';

/** The raw addon. Tensors cross the boundary as numeric handles (see native/common.h). */
export interface NativeAddon {
  setErrorClass(cls: new (message: string) => Error): void;
  findOp(name: string): number;
  opSchema(id: number): string;
  call(id: number, ...args: unknown[]): unknown;
  /** call() for an op with one Tensor result, arming the result's GC safety net with `owner` in the same call. */
  callOwned(owner: object, id: number, ...args: unknown[]): number;
  callVoid(id: number, ...args: unknown[]): void;
  free(h: number): void;
  isLive(h: number): boolean;
  track(owner: object, h: number): void;
  shape(h: number): number[];
  stride(h: number): number[];
  dim(h: number): number;
  numel(h: number): number;
  dtypeCode(h: number): number;
  deviceName(h: number): string;
  requiresGrad(h: number): boolean;
  setRequiresGrad(h: number, flag: boolean): void;
  isLeaf(h: number): boolean;
  gradFnName(h: number): string | null;
  gradOf(h: number): number;
  setGrad(h: number, g: number): void;
  retainGrad(h: number): void;
  isContiguous(h: number): boolean;
  sameStorage(a: number, b: number): boolean;
  toBuffer(h: number): ArrayBuffer;
  copyFromBuffer(h: number, data: ArrayBufferView): void;
  print(h: number): string;
  fromBuffer(data: ArrayBufferView, shape: readonly number[], dtypeCode: number): number;
  dispatchStats(): { unboxed: number; boxed: number };
  cpuCacheStats(): CpuCacheStats;
  emptyCpuCache(): void;
  memoryStats(): { trackedBytes: number; liveTensors: number; storages: number; collectedTensors: number };
  backward(tensors: number[], grads: (number | null)[] | null, retainGraph: boolean | undefined, createGraph: boolean): void;
  grad(outputs: number[], inputs: number[], gradOutputs: (number | null)[] | null, retainGraph: boolean | undefined,
    createGraph: boolean, allowUnused: boolean): number[];
  setGradEnabled(flag: boolean): boolean;
  isGradEnabled(): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  hardwareConcurrency(): number;
  manualSeed(seed: number | bigint): void;
  getRngState(device?: string): number;
  setRngState(state: number, device?: string): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  version(): string;
}

function addonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/native.js -> package root is two levels up.
  const root = join(here, '..', '..');
  const candidates = [
    process.env.ROBUSTA_TORCH_ADDON,
    join(root, 'build', 'Release', 'torch_native.node'),
    join(root, 'build', 'Debug', 'torch_native.node'),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `robusta/torch: the native addon is not built (looked in ${candidates.join(', ')}). ` +
        'Run `npm run build:native` (it needs libtorch: apt-get install libtorch-dev, or LIBTORCH=/path/to/libtorch).',
    );
  }
  return found;
}

// The addon keeps one tensor table and libtorch's grad mode is per thread: one JS thread only.
if (!isMainThread) {
  throw new Error('@robusta/torch can only be loaded on the main thread (worker threads must not import it: move raw ArrayBuffers instead)');
}

const require = createRequire(import.meta.url);
export const native: NativeAddon = require(addonPath()) as NativeAddon;
native.setErrorClass(TorchError);

// libtorch starts with one intra-op thread on some builds: use every core unless told otherwise.
{
  const fromEnv = Number(process.env.ROBUSTA_NUM_THREADS ?? process.env.OMP_NUM_THREADS);
  native.setNumThreads(Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : native.hardwareConcurrency());
}

/** An ATen operator, looked up in the dispatcher on first use. */
export class Op {
  private id = -1;
  constructor(readonly schemaName: string) {}
  get handle(): number {
    if (this.id < 0) this.id = native.findOp(this.schemaName);
    return this.id;
  }
  schema(): string {
    return native.opSchema(this.handle);
  }
}

const opCache = new Map<string, Op>();
/** The operator named like TorchScript does: "aten::add.Tensor", "aten::relu". */
export function op(schemaName: string): Op {
  let o = opCache.get(schemaName);
  if (!o) {
    o = new Op(schemaName);
    opCache.set(schemaName, o);
  }
  return o;
}
