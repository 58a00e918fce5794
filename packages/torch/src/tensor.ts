// The Tensor: one native tensor behind a numeric handle, with PyTorch's operations as methods.
// Methods are thin: each calls one ATen operator through the dispatcher (autograd included).
// Naming: camelCase for PyTorch's snake_case; a trailing underscore marks in-place ops, as in PyTorch.
import { inspect } from 'node:util';
import { native, op, type Op } from './native.js';
import { type DType, dtypeCode, dtypeName, typedArrayFor, type TypedArray } from './dtype.js';
import { checkDevice, type Device } from './device.js';
import { scopeDepth, track, TRACKED, type Trackable } from './scope.js';


export type Scalar = number | boolean;
export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };
export function reductionCode(r: Reduction): number {
  const c = REDUCTION[r];
  if (c === undefined) throw new TypeError(`reduction must be 'none', 'mean' or 'sum', not '${String(r)}'`);
  return c;
}

/** Calls an operator and wraps its Tensor result. */
export function callT(o: Op, ...args: unknown[]): Tensor {
  if (scopeDepth() > 0) return new Tensor(native.call(o.handle, ...args) as number);
  // Outside every scope the result needs its GC safety net: armed by the same native call.
  const t = new Tensor(-1);
  (t as { handle: number }).handle = native.callOwned(t, o.handle, ...args);
  return t;
}
/** Calls an operator that returns several tensors (a tuple or a Tensor[]). */
export function callTs(o: Op, ...args: unknown[]): Tensor[] {
  return (native.call(o.handle, ...args) as number[]).map(wrap);
}
/** Calls an operator for its effect only (in-place ops). */
export function callV(o: Op, ...args: unknown[]): void {
  native.callVoid(o.handle, ...args);
}

export function wrap(h: number): Tensor {
  return new Tensor(h);
}

export function wrapOrNull(h: number): Tensor | null {
  return h < 0 ? null : new Tensor(h);
}

/** The handle of a Tensor argument, with a TypeError for anything else. */
export function th(t: Tensor, what = 'tensor'): number {
  if (!(t instanceof Tensor)) throw new TypeError(`expected a Tensor for '${what}', got ${describe(t)}`);
  return t.handle;
}
export function thOpt(t: Tensor | null | undefined, what = 'tensor'): number | null {
  return t === null || t === undefined ? null : th(t, what);
}
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

const O = {
  addT: op('aten::add.Tensor'), addS: op('aten::add.Scalar'),
  subT: op('aten::sub.Tensor'), subS: op('aten::sub.Scalar'),
  mulT: op('aten::mul.Tensor'), mulS: op('aten::mul.Scalar'),
  divT: op('aten::div.Tensor'), divS: op('aten::div.Scalar'), divMode: op('aten::div.Tensor_mode'),
  powT: op('aten::pow.Tensor_Tensor'), powS: op('aten::pow.Tensor_Scalar'),
  remainderS: op('aten::remainder.Scalar'), remainderT: op('aten::remainder.Tensor'),
  neg: op('aten::neg'), abs: op('aten::abs'), sqrt: op('aten::sqrt'), rsqrt: op('aten::rsqrt'), exp: op('aten::exp'),
  log: op('aten::log'), log2: op('aten::log2'), log1p: op('aten::log1p'), sin: op('aten::sin'), cos: op('aten::cos'),
  sign: op('aten::sign'), floor: op('aten::floor'), ceil: op('aten::ceil'), round: op('aten::round'), trunc: op('aten::trunc'),
  reciprocal: op('aten::reciprocal'), square: op('aten::square'), erf: op('aten::erf'),
  tanh: op('aten::tanh'), sigmoid: op('aten::sigmoid'), relu: op('aten::relu'),
  clamp: op('aten::clamp'), clampT: op('aten::clamp.Tensor'), clampMin: op('aten::clamp_min'), clampMax: op('aten::clamp_max'),
  maximum: op('aten::maximum'), minimum: op('aten::minimum'),
  matmul: op('aten::matmul'), mm: op('aten::mm'), bmm: op('aten::bmm'), t: op('aten::t'), outer: op('aten::outer'), dot: op('aten::dot'),
  eqT: op('aten::eq.Tensor'), eqS: op('aten::eq.Scalar'), neT: op('aten::ne.Tensor'), neS: op('aten::ne.Scalar'),
  ltT: op('aten::lt.Tensor'), ltS: op('aten::lt.Scalar'), leT: op('aten::le.Tensor'), leS: op('aten::le.Scalar'),
  gtT: op('aten::gt.Tensor'), gtS: op('aten::gt.Scalar'), geT: op('aten::ge.Tensor'), geS: op('aten::ge.Scalar'),
  logicalAnd: op('aten::logical_and'), logicalOr: op('aten::logical_or'), logicalNot: op('aten::logical_not'),
  logicalXor: op('aten::logical_xor'),
  isnan: op('aten::isnan'), isfinite: op('aten::isfinite'), isinf: op('aten::isinf'),
  any: op('aten::any'), anyDim: op('aten::any.dim'), all: op('aten::all'), allDim: op('aten::all.dim'),
  sum: op('aten::sum'), sumDim: op('aten::sum.dim_IntList'), mean: op('aten::mean'), meanDim: op('aten::mean.dim'),
  prod: op('aten::prod'), prodDim: op('aten::prod.dim_int'), cumsum: op('aten::cumsum'),
  max: op('aten::max'), maxDim: op('aten::max.dim'), min: op('aten::min'), minDim: op('aten::min.dim'),
  amax: op('aten::amax'), amin: op('aten::amin'),
  argmax: op('aten::argmax'), argmin: op('aten::argmin'), topk: op('aten::topk'), sort: op('aten::sort'), argsort: op('aten::argsort'),
  vectorNorm: op('aten::linalg_vector_norm'),
  var: op('aten::var.correction'), std: op('aten::std.correction'), logsumexp: op('aten::logsumexp'),
  view: op('aten::view'), reshape: op('aten::reshape'), permute: op('aten::permute'), transpose: op('aten::transpose.int'),
  flatten: op('aten::flatten.using_ints'), unflatten: op('aten::unflatten.int'), squeeze: op('aten::squeeze'), squeezeDim: op('aten::squeeze.dim'),
  unsqueeze: op('aten::unsqueeze'), expand: op('aten::expand'), expandAs: op('aten::expand_as'), repeat: op('aten::repeat'),
  contiguous: op('aten::contiguous'), split: op('aten::split.Tensor'), splitSizes: op('aten::split_with_sizes'), chunk: op('aten::chunk'),
  narrow: op('aten::narrow'), select: op('aten::select.int'), slice: op('aten::slice.Tensor'), indexSelect: op('aten::index_select'),
  index: op('aten::index.Tensor'), indexPut_: op('aten::index_put_'),
  gather: op('aten::gather'), scatterSrc: op('aten::scatter.src'), scatterValue: op('aten::scatter.value'), scatterAdd: op('aten::scatter_add'),
  maskedFillS: op('aten::masked_fill.Scalar'), maskedFillT: op('aten::masked_fill.Tensor'), maskedFill_: op('aten::masked_fill_.Scalar'),
  maskedSelect: op('aten::masked_select'), nonzero: op('aten::nonzero'),
  flip: op('aten::flip'), roll: op('aten::roll'), clone: op('aten::clone'), detach: op('aten::detach'),
  to: op('aten::to.dtype_layout'), item: op('aten::item'), oneHot: op('aten::one_hot'), sizeAt: op('aten::size.int'),
  add_T: op('aten::add_.Tensor'), add_S: op('aten::add_.Scalar'), sub_T: op('aten::sub_.Tensor'), sub_S: op('aten::sub_.Scalar'),
  mul_T: op('aten::mul_.Tensor'), mul_S: op('aten::mul_.Scalar'), div_T: op('aten::div_.Tensor'), div_S: op('aten::div_.Scalar'),
  addcmul_: op('aten::addcmul_'), addcdiv_: op('aten::addcdiv_'), copy_: op('aten::copy_'), clamp_: op('aten::clamp_'),
  clamp_T: op('aten::clamp_.Tensor'), zero_: op('aten::zero_'), fill_: op('aten::fill_.Scalar'), uniform_: op('aten::uniform_'),
  normal_: op('aten::normal_'), lerp_: op('aten::lerp_.Scalar'), sqrt_: op('aten::sqrt_'), neg_: op('aten::neg_'),
  sign_: op('aten::sign_'), pow_: op('aten::pow_.Scalar'), bernoulli_: op('aten::bernoulli_.float'),
  softmax: op('aten::softmax.int'), logSoftmax: op('aten::log_softmax.int'),
};

type Dims = number | number[];
const dimList = (d: Dims): number[] => (Array.isArray(d) ? d : [d]);

export interface ToOptions {
  dtype?: DType;
  device?: Device;
  copy?: boolean;
}

export interface NormOptions {
  dim?: Dims;
  keepdim?: boolean;
}

/** A multi-dimensional array on a device, with autograd. Create with tensor(), zeros(), ... */
export class Tensor implements Trackable {
  /** The native handle (an index into the addon's table; stale once disposed). */
  readonly handle: number;
  [TRACKED] = false;

  /** @internal use the factory functions (tensor, zeros, ...) */
  constructor(handle: number) {
    this.handle = handle;
    // The safety net: the native tensor is freed by the GC that collects this object. A tidy()
    // scope that owns the tensor frees it itself; the net is armed when the tensor leaves it.
    if (!track(this) && handle >= 0) native.track(this, handle);
  }

  /** @internal called by the scopes when none owns this tensor any more. */
  leftScopes(): void {
    native.track(this, this.handle);
  }

  // ---- memory ---------------------------------------------------------------------------------
  /** Frees the native tensor now. Idempotent. Other tensors that view the same storage stay valid. */
  dispose(): void {
    native.free(this.handle);
  }
  get isDisposed(): boolean {
    return !native.isLive(this.handle);
  }

  // ---- metadata -------------------------------------------------------------------------------
  get shape(): number[] { return native.shape(this.handle); }
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape;
    return native.call(O.sizeAt.handle, this.handle, dim) as number;
  }
  stride(): number[] { return native.stride(this.handle); }
  get ndim(): number { return native.dim(this.handle); }
  dim(): number { return native.dim(this.handle); }
  numel(): number { return native.numel(this.handle); }
  get dtype(): DType { return dtypeName(native.dtypeCode(this.handle)); }
  get device(): Device { return native.deviceName(this.handle) as Device; }
  isContiguous(): boolean { return native.isContiguous(this.handle); }
  /** Whether both tensors view the same storage. */
  sharesStorageWith(other: Tensor): boolean { return native.sameStorage(this.handle, th(other, 'other')); }

  // ---- autograd -------------------------------------------------------------------------------
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  set requiresGrad(flag: boolean) { native.setRequiresGrad(this.handle, flag); }
  requiresGrad_(flag = true): this { native.setRequiresGrad(this.handle, flag); return this; }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** The name of the autograd node that made this tensor (e.g. "AddBackward0"), or null. */
  get gradFn(): string | null { return native.gradFnName(this.handle); }
  /** The accumulated gradient (a new wrapper each read: dispose it, or read it inside tidy). */
  get grad(): Tensor | null { return wrapOrNull(native.gradOf(this.handle)); }
  set grad(g: Tensor | null) { native.setGrad(this.handle, g === null ? -1 : th(g, 'grad')); }
  retainGrad(): this { native.retainGrad(this.handle); return this; }
  /** Back-propagates from this tensor; `gradient` is required for non-scalar tensors. */
  backward(gradient?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this.handle], gradient ? [th(gradient, 'gradient')] : null, opts.retainGraph, opts.createGraph ?? false);
  }
  detach(): Tensor { return callT(O.detach, this.handle); }

  // ---- data -----------------------------------------------------------------------------------
  /** The elements in row-major order, copied to a typed array of the tensor's dtype. */
  data(): TypedArray { return typedArrayFor(this.dtype, native.toBuffer(this.handle)); }
  /** The elements as plain numbers (int64 converted, float16/bfloat16 widened to float32). */
  toFlatArray(): number[] {
    const d = this.dtype;
    if (d === 'float16' || d === 'bfloat16') {
      const f = this.to({ dtype: 'float32' });
      try { return Array.from(f.data() as Float32Array); } finally { f.dispose(); }
    }
    const a = this.data();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>);
  }
  /** Nested arrays of numbers, like PyTorch's tolist(); a 0-d tensor gives a number. */
  tolist(): unknown {
    const flat = this.toFlatArray();
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    let offset = 0;
    const build = (d: number): unknown[] => {
      const out: unknown[] = [];
      for (let i = 0; i < shape[d]!; i++) out.push(d === shape.length - 1 ? flat[offset++] : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    const v = native.call(O.item.handle, this.handle);
    return typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
  }
  /** Overwrites the elements from a typed array of exactly the same byte size. */
  copyFromArray(data: ArrayBufferView): this { native.copyFromBuffer(this.handle, data); return this; }
  toString(): string { return native.print(this.handle); }
  [inspect.custom](): string {
    if (this.isDisposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})\n${this.toString()}`;
  }

  // ---- conversion -----------------------------------------------------------------------------
  /** A copy (or this tensor's data, when nothing changes) with another dtype and/or device. */
  to(target: DType | Device | ToOptions): Tensor {
    const o: ToOptions = typeof target === 'string'
      ? (target === 'cpu' || target.startsWith('cuda') ? { device: checkDevice(target) } : { dtype: target as DType })
      : target;
    return callT(O.to, this.handle, o.dtype === undefined ? null : dtypeCode(o.dtype), null,
      o.device === undefined ? null : checkDevice(o.device), null, false, o.copy ?? false);
  }
  float(): Tensor { return this.to({ dtype: 'float32' }); }
  double(): Tensor { return this.to({ dtype: 'float64' }); }
  long(): Tensor { return this.to({ dtype: 'int64' }); }
  int(): Tensor { return this.to({ dtype: 'int32' }); }
  bool(): Tensor { return this.to({ dtype: 'bool' }); }
  cpu(): Tensor { return this.to({ device: 'cpu' }); }
  cuda(index = 0): Tensor { return this.to({ device: `cuda:${index}` }); }
  clone(): Tensor { return callT(O.clone, this.handle); }
  contiguous(): Tensor { return callT(O.contiguous, this.handle); }

  // ---- arithmetic -----------------------------------------------------------------------------
  add(other: Tensor | Scalar, alpha: Scalar = 1): Tensor {
    return typeof other === 'object' ? callT(O.addT, this.handle, th(other, 'other'), alpha) : callT(O.addS, this.handle, other, alpha);
  }
  sub(other: Tensor | Scalar, alpha: Scalar = 1): Tensor {
    return typeof other === 'object' ? callT(O.subT, this.handle, th(other, 'other'), alpha) : callT(O.subS, this.handle, other, alpha);
  }
  mul(other: Tensor | Scalar): Tensor {
    return typeof other === 'object' ? callT(O.mulT, this.handle, th(other, 'other')) : callT(O.mulS, this.handle, other);
  }
  /** True division; `roundingMode` 'trunc' or 'floor' as in torch.div. */
  div(other: Tensor | Scalar, roundingMode?: 'trunc' | 'floor'): Tensor {
    if (roundingMode !== undefined) {
      const o = typeof other === 'object' ? other : null;
      if (!o) throw new TypeError('div with a rounding mode takes a Tensor divisor');
      return callT(O.divMode, this.handle, th(o, 'other'), roundingMode);
    }
    return typeof other === 'object' ? callT(O.divT, this.handle, th(other, 'other')) : callT(O.divS, this.handle, other);
  }
  pow(exponent: Tensor | Scalar): Tensor {
    return typeof exponent === 'object' ? callT(O.powT, this.handle, th(exponent, 'exponent')) : callT(O.powS, this.handle, exponent);
  }
  remainder(other: Tensor | Scalar): Tensor {
    return typeof other === 'object' ? callT(O.remainderT, this.handle, th(other, 'other')) : callT(O.remainderS, this.handle, other);
  }
  neg(): Tensor { return callT(O.neg, this.handle); }
  abs(): Tensor { return callT(O.abs, this.handle); }
  sqrt(): Tensor { return callT(O.sqrt, this.handle); }
  rsqrt(): Tensor { return callT(O.rsqrt, this.handle); }
  exp(): Tensor { return callT(O.exp, this.handle); }
  log(): Tensor { return callT(O.log, this.handle); }
  log2(): Tensor { return callT(O.log2, this.handle); }
  log1p(): Tensor { return callT(O.log1p, this.handle); }
  sin(): Tensor { return callT(O.sin, this.handle); }
  cos(): Tensor { return callT(O.cos, this.handle); }
  sign(): Tensor { return callT(O.sign, this.handle); }
  floor(): Tensor { return callT(O.floor, this.handle); }
  ceil(): Tensor { return callT(O.ceil, this.handle); }
  round(): Tensor { return callT(O.round, this.handle); }
  trunc(): Tensor { return callT(O.trunc, this.handle); }
  reciprocal(): Tensor { return callT(O.reciprocal, this.handle); }
  square(): Tensor { return callT(O.square, this.handle); }
  erf(): Tensor { return callT(O.erf, this.handle); }
  tanh(): Tensor { return callT(O.tanh, this.handle); }
  sigmoid(): Tensor { return callT(O.sigmoid, this.handle); }
  relu(): Tensor { return callT(O.relu, this.handle); }
  /** Clamps into [min, max]; either bound may be omitted (null), and each may be a Tensor. */
  clamp(min?: Scalar | Tensor | null, max?: Scalar | Tensor | null): Tensor {
    if (typeof min === 'object' && min !== null || typeof max === 'object' && max !== null) {
      return callT(O.clampT, this.handle, thOpt(min as Tensor | null, 'min'), thOpt(max as Tensor | null, 'max'));
    }
    if (min == null && max == null) throw new TypeError('clamp: give at least one of min and max');
    return callT(O.clamp, this.handle, min ?? null, max ?? null);
  }
  clampMin(min: Scalar): Tensor { return callT(O.clampMin, this.handle, min); }
  clampMax(max: Scalar): Tensor { return callT(O.clampMax, this.handle, max); }
  maximum(other: Tensor): Tensor { return callT(O.maximum, this.handle, th(other, 'other')); }
  minimum(other: Tensor): Tensor { return callT(O.minimum, this.handle, th(other, 'other')); }
  matmul(other: Tensor): Tensor { return callT(O.matmul, this.handle, th(other, 'other')); }
  mm(other: Tensor): Tensor { return callT(O.mm, this.handle, th(other, 'other')); }
  bmm(other: Tensor): Tensor { return callT(O.bmm, this.handle, th(other, 'other')); }
  dot(other: Tensor): Tensor { return callT(O.dot, this.handle, th(other, 'other')); }
  outer(other: Tensor): Tensor { return callT(O.outer, this.handle, th(other, 'other')); }
  /** The transpose of a 2-d tensor. */
  t(): Tensor { return callT(O.t, this.handle); }

  // ---- comparison and logic -------------------------------------------------------------------
  eq(other: Tensor | Scalar): Tensor { return this.cmp(O.eqT, O.eqS, other); }
  ne(other: Tensor | Scalar): Tensor { return this.cmp(O.neT, O.neS, other); }
  lt(other: Tensor | Scalar): Tensor { return this.cmp(O.ltT, O.ltS, other); }
  le(other: Tensor | Scalar): Tensor { return this.cmp(O.leT, O.leS, other); }
  gt(other: Tensor | Scalar): Tensor { return this.cmp(O.gtT, O.gtS, other); }
  ge(other: Tensor | Scalar): Tensor { return this.cmp(O.geT, O.geS, other); }
  private cmp(t: Op, s: Op, other: Tensor | Scalar): Tensor {
    return typeof other === 'object' ? callT(t, this.handle, th(other, 'other')) : callT(s, this.handle, other);
  }
  logicalAnd(other: Tensor): Tensor { return callT(O.logicalAnd, this.handle, th(other, 'other')); }
  logicalOr(other: Tensor): Tensor { return callT(O.logicalOr, this.handle, th(other, 'other')); }
  logicalXor(other: Tensor): Tensor { return callT(O.logicalXor, this.handle, th(other, 'other')); }
  logicalNot(): Tensor { return callT(O.logicalNot, this.handle); }
  isnan(): Tensor { return callT(O.isnan, this.handle); }
  isfinite(): Tensor { return callT(O.isfinite, this.handle); }
  isinf(): Tensor { return callT(O.isinf, this.handle); }
  any(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? callT(O.any, this.handle) : callT(O.anyDim, this.handle, dim, keepdim);
  }
  all(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? callT(O.all, this.handle) : callT(O.allDim, this.handle, dim, keepdim);
  }

  // ---- reductions -----------------------------------------------------------------------------
  sum(dim?: Dims, keepdim = false, dtype?: DType): Tensor {
    const dt = dtype === undefined ? null : dtypeCode(dtype);
    return dim === undefined ? callT(O.sum, this.handle, dt) : callT(O.sumDim, this.handle, dimList(dim), keepdim, dt);
  }
  mean(dim?: Dims, keepdim = false): Tensor {
    return dim === undefined ? callT(O.mean, this.handle) : callT(O.meanDim, this.handle, dimList(dim), keepdim);
  }
  prod(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? callT(O.prod, this.handle) : callT(O.prodDim, this.handle, dim, keepdim);
  }
  cumsum(dim: number): Tensor { return callT(O.cumsum, this.handle, dim); }
  /** The largest element (0-d tensor). For values and indices along a dim use maxDim. */
  max(): Tensor { return callT(O.max, this.handle); }
  min(): Tensor { return callT(O.min, this.handle); }
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = callTs(O.maxDim, this.handle, dim, keepdim) as [Tensor, Tensor];
    return { values, indices };
  }
  minDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = callTs(O.minDim, this.handle, dim, keepdim) as [Tensor, Tensor];
    return { values, indices };
  }
  amax(dim: Dims = [], keepdim = false): Tensor { return callT(O.amax, this.handle, dimList(dim), keepdim); }
  amin(dim: Dims = [], keepdim = false): Tensor { return callT(O.amin, this.handle, dimList(dim), keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return callT(O.argmax, this.handle, dim ?? null, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return callT(O.argmin, this.handle, dim ?? null, keepdim); }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = callTs(O.topk, this.handle, k, dim, largest, sorted) as [Tensor, Tensor];
    return { values, indices };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = callTs(O.sort, this.handle, dim, descending) as [Tensor, Tensor];
    return { values, indices };
  }
  argsort(dim = -1, descending = false): Tensor { return callT(O.argsort, this.handle, dim, descending); }
  /** The vector p-norm (p = 1, 2, Infinity, ...) over all elements or over `dim`. */
  norm(p: number = 2, opts: NormOptions = {}): Tensor {
    return callT(O.vectorNorm, this.handle, p, opts.dim === undefined ? null : dimList(opts.dim), opts.keepdim ?? false);
  }
  /** Variance with Bessel's correction by default (correction = 1), as torch.var. */
  var(dim?: Dims, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return callT(O.var, this.handle, dim === undefined ? null : dimList(dim), opts.correction ?? 1, opts.keepdim ?? false);
  }
  std(dim?: Dims, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return callT(O.std, this.handle, dim === undefined ? null : dimList(dim), opts.correction ?? 1, opts.keepdim ?? false);
  }
  logsumexp(dim: Dims, keepdim = false): Tensor { return callT(O.logsumexp, this.handle, dimList(dim), keepdim); }
  softmax(dim: number): Tensor { return callT(O.softmax, this.handle, dim, null); }
  logSoftmax(dim: number): Tensor { return callT(O.logSoftmax, this.handle, dim, null); }

  // ---- shape ----------------------------------------------------------------------------------
  view(...shape: number[] | [number[]]): Tensor { return callT(O.view, this.handle, flatShape(shape)); }
  reshape(...shape: number[] | [number[]]): Tensor { return callT(O.reshape, this.handle, flatShape(shape)); }
  permute(...dims: number[] | [number[]]): Tensor { return callT(O.permute, this.handle, flatShape(dims)); }
  transpose(dim0: number, dim1: number): Tensor { return callT(O.transpose, this.handle, dim0, dim1); }
  flatten(startDim = 0, endDim = -1): Tensor { return callT(O.flatten, this.handle, startDim, endDim); }
  unflatten(dim: number, sizes: number[]): Tensor { return callT(O.unflatten, this.handle, dim, sizes); }
  squeeze(dim?: number): Tensor { return dim === undefined ? callT(O.squeeze, this.handle) : callT(O.squeezeDim, this.handle, dim); }
  unsqueeze(dim: number): Tensor { return callT(O.unsqueeze, this.handle, dim); }
  expand(...shape: number[] | [number[]]): Tensor { return callT(O.expand, this.handle, flatShape(shape), false); }
  expandAs(other: Tensor): Tensor { return callT(O.expandAs, this.handle, th(other, 'other')); }
  repeat(...repeats: number[] | [number[]]): Tensor { return callT(O.repeat, this.handle, flatShape(repeats)); }
  /** Splits into pieces of `size` (a number) or of the given sizes (an array) along dim. */
  split(size: number | number[], dim = 0): Tensor[] {
    return Array.isArray(size) ? callTs(O.splitSizes, this.handle, size, dim) : callTs(O.split, this.handle, size, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] { return callTs(O.chunk, this.handle, chunks, dim); }
  narrow(dim: number, start: number, length: number): Tensor { return callT(O.narrow, this.handle, dim, start, length); }
  select(dim: number, index: number): Tensor { return callT(O.select, this.handle, dim, index); }
  /** Python's x[start:end:step] along dim (a view). Negative and omitted bounds work as in Python. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return callT(O.slice, this.handle, dim, start ?? null, end ?? null, step);
  }
  indexSelect(dim: number, index: Tensor): Tensor { return callT(O.indexSelect, this.handle, dim, th(index, 'index')); }
  /** Advanced indexing x[i0, i1, ...] with index tensors (null for ':'). */
  index(indices: (Tensor | null)[]): Tensor { return callT(O.index, this.handle, indices.map((t) => thOpt(t, 'indices'))); }
  indexPut_(indices: (Tensor | null)[], values: Tensor, accumulate = false): this {
    callV(O.indexPut_, this.handle, indices.map((t) => thOpt(t, 'indices')), th(values, 'values'), accumulate);
    return this;
  }
  gather(dim: number, index: Tensor): Tensor { return callT(O.gather, this.handle, dim, th(index, 'index')); }
  scatter(dim: number, index: Tensor, src: Tensor | Scalar): Tensor {
    return typeof src === 'object'
      ? callT(O.scatterSrc, this.handle, dim, th(index, 'index'), th(src, 'src'))
      : callT(O.scatterValue, this.handle, dim, th(index, 'index'), src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return callT(O.scatterAdd, this.handle, dim, th(index, 'index'), th(src, 'src'));
  }
  maskedFill(mask: Tensor, value: Scalar | Tensor): Tensor {
    return typeof value === 'object'
      ? callT(O.maskedFillT, this.handle, th(mask, 'mask'), th(value, 'value'))
      : callT(O.maskedFillS, this.handle, th(mask, 'mask'), value);
  }
  maskedSelect(mask: Tensor): Tensor { return callT(O.maskedSelect, this.handle, th(mask, 'mask')); }
  nonzero(): Tensor { return callT(O.nonzero, this.handle); }
  flip(dims: Dims): Tensor { return callT(O.flip, this.handle, dimList(dims)); }
  roll(shifts: Dims, dims: Dims = []): Tensor { return callT(O.roll, this.handle, dimList(shifts), dimList(dims)); }
  /** One-hot encoding of an int64 tensor of class indices. */
  oneHot(numClasses = -1): Tensor { return callT(O.oneHot, this.handle, numClasses); }

  // ---- in place (what optimizers and attacks need) -----------------------------------------------
  add_(other: Tensor | Scalar, alpha: Scalar = 1): this {
    if (typeof other === 'object') callV(O.add_T, this.handle, th(other, 'other'), alpha);
    else callV(O.add_S, this.handle, other, alpha);
    return this;
  }
  sub_(other: Tensor | Scalar, alpha: Scalar = 1): this {
    if (typeof other === 'object') callV(O.sub_T, this.handle, th(other, 'other'), alpha);
    else callV(O.sub_S, this.handle, other, alpha);
    return this;
  }
  mul_(other: Tensor | Scalar): this {
    if (typeof other === 'object') callV(O.mul_T, this.handle, th(other, 'other'));
    else callV(O.mul_S, this.handle, other);
    return this;
  }
  div_(other: Tensor | Scalar): this {
    if (typeof other === 'object') callV(O.div_T, this.handle, th(other, 'other'));
    else callV(O.div_S, this.handle, other);
    return this;
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, value: Scalar = 1): this {
    callV(O.addcmul_, this.handle, th(t1, 'tensor1'), th(t2, 'tensor2'), value);
    return this;
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value: Scalar = 1): this {
    callV(O.addcdiv_, this.handle, th(t1, 'tensor1'), th(t2, 'tensor2'), value);
    return this;
  }
  copy_(src: Tensor): this { callV(O.copy_, this.handle, th(src, 'src'), false); return this; }
  clamp_(min?: Scalar | Tensor | null, max?: Scalar | Tensor | null): this {
    if (typeof min === 'object' && min !== null || typeof max === 'object' && max !== null) {
      callV(O.clamp_T, this.handle, thOpt(min as Tensor | null, 'min'), thOpt(max as Tensor | null, 'max'));
    } else {
      if (min == null && max == null) throw new TypeError('clamp_: give at least one of min and max');
      callV(O.clamp_, this.handle, min ?? null, max ?? null);
    }
    return this;
  }
  zero_(): this { callV(O.zero_, this.handle); return this; }
  fill_(value: Scalar): this { callV(O.fill_, this.handle, value); return this; }
  maskedFill_(mask: Tensor, value: Scalar): this { callV(O.maskedFill_, this.handle, th(mask, 'mask'), value); return this; }
  uniform_(from = 0, to = 1): this { callV(O.uniform_, this.handle, from, to); return this; }
  normal_(mean = 0, std = 1): this { callV(O.normal_, this.handle, mean, std); return this; }
  bernoulli_(p = 0.5): this { callV(O.bernoulli_, this.handle, p); return this; }
  lerp_(end: Tensor, weight: Scalar): this { callV(O.lerp_, this.handle, th(end, 'end'), weight); return this; }
  sqrt_(): this { callV(O.sqrt_, this.handle); return this; }
  neg_(): this { callV(O.neg_, this.handle); return this; }
  sign_(): this { callV(O.sign_, this.handle); return this; }
  pow_(exponent: Scalar): this { callV(O.pow_, this.handle, exponent); return this; }
}

function flatShape(args: number[] | [number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}
