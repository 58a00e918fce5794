// Creating tensors: from JS data, filled, random, ranges, and *_like variants.
import { native, op } from './native.js';
import { type DType, dtypeCode, dtypeOfTypedArray } from './dtype.js';
import { checkDevice, type Device } from './device.js';
import { callT, th, type Scalar, Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

const O = {
  zeros: op('aten::zeros'), ones: op('aten::ones'), full: op('aten::full'), empty: op('aten::empty.memory_format'),
  rand: op('aten::rand'), randn: op('aten::randn'), randintLow: op('aten::randint.low'), randperm: op('aten::randperm'),
  arange: op('aten::arange.start_step'), linspace: op('aten::linspace'), eye: op('aten::eye.m'),
  zerosLike: op('aten::zeros_like'), onesLike: op('aten::ones_like'), fullLike: op('aten::full_like'),
  randLike: op('aten::rand_like'), randnLike: op('aten::randn_like'), emptyLike: op('aten::empty_like'),
  cat: op('aten::cat'), stack: op('aten::stack'), where: op('aten::where.self'),
  whereScalarOther: op('aten::where.ScalarOther'), whereScalarSelf: op('aten::where.ScalarSelf'), whereScalar: op('aten::where.Scalar'),
};

type Opts = { dtype: number | null; device: string | null };
function opts(o: CreateOptions | undefined, defaultDtype: DType | null = 'float32'): Opts {
  const dt = o?.dtype ?? defaultDtype;
  return { dtype: dt === null ? null : dtypeCode(dt), device: o?.device === undefined ? null : checkDevice(o.device) };
}
function finish(t: Tensor, o: CreateOptions | undefined): Tensor {
  if (o?.requiresGrad) t.requiresGrad_(true);
  return t;
}
function checkShape(shape: readonly number[]): number[] {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  return shape as number[];
}

export type NestedArray = number | boolean | NestedArray[];

/**
 * A tensor from JS data: nested arrays (dtype float32 unless given; booleans give bool), or a typed
 * array with an optional shape (dtype from the array: Float32Array -> float32, Int32Array -> int32,
 * BigInt64Array -> int64, Uint8Array -> uint8, ...).
 */
export function tensor(data: NestedArray | ArrayBufferView, o: CreateOptions & { shape?: number[] } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const view = data as ArrayBufferView;
    const src = view instanceof Uint8ClampedArray ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : view;
    const length = view.byteLength / ((view as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT ?? 1);
    const shape = checkShape(o.shape ?? [length]);
    t = new Tensor(native.fromBuffer(src, shape, dtypeCode(dtypeOfTypedArray(view))));
  } else {
    const shape: number[] = [];
    let probe: NestedArray = data;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      probe = probe[0] as NestedArray;
      if (probe === undefined) break;
    }
    const flat = (Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data]) as (number | boolean)[];
    const expected = shape.reduce((a, b) => a * b, 1);
    if (flat.length !== expected) throw new RangeError(`tensor(): ragged nested array (expected ${expected} elements for shape [${shape.join(', ')}], found ${flat.length})`);
    const isBool = flat.length > 0 && typeof flat[0] === 'boolean' && o.dtype === undefined;
    if (isBool) {
      t = new Tensor(native.fromBuffer(Uint8Array.from(flat, (v) => (v ? 1 : 0)), o.shape ?? shape, dtypeCode('bool')));
    } else {
      const f64 = Float64Array.from(flat, (v) => Number(v));
      const base = new Tensor(native.fromBuffer(f64, o.shape ?? shape, dtypeCode('float64')));
      const want = o.dtype ?? 'float32';
      if (want === 'float64') t = base;
      else {
        t = base.to({ dtype: want });
        base.dispose();
      }
    }
  }
  if (o.dtype !== undefined && t.dtype !== o.dtype) {
    const c = t.to({ dtype: o.dtype });
    t.dispose();
    t = c;
  }
  if (o.device !== undefined && o.device !== 'cpu') {
    const c = t.to({ device: o.device });
    t.dispose();
    t = c;
  }
  return finish(t, o);
}

/** A 0-d tensor holding one number. */
export function scalarTensor(value: number, o: CreateOptions = {}): Tensor {
  return full([], value, o);
}

export function zeros(shape: readonly number[], o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.zeros, checkShape(shape), dtype, null, device), o);
}
export function ones(shape: readonly number[], o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.ones, checkShape(shape), dtype, null, device), o);
}
export function full(shape: readonly number[], value: Scalar, o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.full, checkShape(shape), value, dtype, null, device), o);
}
/** Uninitialised memory: fill it before reading. */
export function empty(shape: readonly number[], o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.empty, checkShape(shape), dtype, null, device), o);
}
/** Uniform on [0, 1). */
export function rand(shape: readonly number[], o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.rand, checkShape(shape), dtype, null, device), o);
}
/** Standard normal. */
export function randn(shape: readonly number[], o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.randn, checkShape(shape), dtype, null, device), o);
}
/** Integers uniform on [low, high) (int64 unless a dtype is given). */
export function randint(low: number, high: number, shape: readonly number[], o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o, 'int64');
  return finish(callT(O.randintLow, low, high, checkShape(shape), dtype, null, device), o);
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o, 'int64');
  return finish(callT(O.randperm, n, dtype, null, device), o);
}
/** [start, end) with step; dtype int64 when all of start/end/step are integers, else float32 (as PyTorch). */
export function arange(start: number, end?: number, step = 1, o?: CreateOptions): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const { dtype, device } = opts(o, allInt ? 'int64' : 'float32');
  return finish(callT(O.arange, start, end, step, dtype, null, device), o);
}
export function linspace(start: number, end: number, steps: number, o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.linspace, start, end, steps, dtype, null, device), o);
}
export function eye(n: number, m: number = n, o?: CreateOptions): Tensor {
  const { dtype, device } = opts(o);
  return finish(callT(O.eye, n, m, dtype, null, device), o);
}

function likeOpts(o: CreateOptions | undefined): [number | null, string | null] {
  return [o?.dtype === undefined ? null : dtypeCode(o.dtype), o?.device === undefined ? null : checkDevice(o.device)];
}
export function zerosLike(t: Tensor, o?: CreateOptions): Tensor {
  const [dt, dev] = likeOpts(o);
  return finish(callT(O.zerosLike, th(t), dt, null, dev), o);
}
export function onesLike(t: Tensor, o?: CreateOptions): Tensor {
  const [dt, dev] = likeOpts(o);
  return finish(callT(O.onesLike, th(t), dt, null, dev), o);
}
export function fullLike(t: Tensor, value: Scalar, o?: CreateOptions): Tensor {
  const [dt, dev] = likeOpts(o);
  return finish(callT(O.fullLike, th(t), value, dt, null, dev), o);
}
export function randLike(t: Tensor, o?: CreateOptions): Tensor {
  const [dt, dev] = likeOpts(o);
  return finish(callT(O.randLike, th(t), dt, null, dev), o);
}
export function randnLike(t: Tensor, o?: CreateOptions): Tensor {
  const [dt, dev] = likeOpts(o);
  return finish(callT(O.randnLike, th(t), dt, null, dev), o);
}
export function emptyLike(t: Tensor, o?: CreateOptions): Tensor {
  const [dt, dev] = likeOpts(o);
  return finish(callT(O.emptyLike, th(t), dt, null, dev), o);
}

/** Concatenates along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return callT(O.cat, tensors.map((t) => th(t, 'tensors')), dim);
}
/** Stacks along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return callT(O.stack, tensors.map((t) => th(t, 'tensors')), dim);
}
/** Elementwise condition ? a : b (either side may be a number). */
export function where(condition: Tensor, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  const c = th(condition, 'condition');
  if (typeof a === 'object' && typeof b === 'object') return callT(O.where, c, th(a, 'self'), th(b, 'other'));
  if (typeof a === 'object') return callT(O.whereScalarOther, c, th(a, 'self'), b as Scalar);
  if (typeof b === 'object') return callT(O.whereScalarSelf, c, a, th(b, 'other'));
  return callT(O.whereScalar, c, a, b);
}
