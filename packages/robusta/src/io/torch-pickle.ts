// The Python globals a torch checkpoint may name, as inert JS stand-ins: the allow-list of the safe
// unpickler. Tensors stay descriptions (TensorRef over a StorageRef) until the file's storages are
// read, so the legacy format (whose storages follow the pickle) and selective loading both work.
import type { DType } from '@robusta/torch';
import { CheckpointError } from './errors.js';
import { STORAGE_DTYPE, UNSUPPORTED_STORAGES } from './dtypes.js';
import { isPyCallable, type PyCallable, type PyContainer, type PyStateful } from './pickle.js';

/** A storage named by a persistent id: `numel` elements of `dtype`, saved under `key`. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    /** Where it lived when saved ('cpu', 'cuda:0', ...); everything loads to the CPU. */
    readonly location: string,
    /** Legacy format storage views: a window of `numel` elements from `offset` in another storage. */
    readonly viewOf?: { root: StorageRef; offset: number },
  ) {}
}

/** A tensor to build: torch._utils._rebuild_tensor_v2(storage, storageOffset, size, stride, requiresGrad). */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
    readonly isParameter = false,
  ) {}
}

/**
 * An object of a class outside the allow-list, recorded without running anything (only with
 * unknownGlobals: 'placeholder'): its class name, constructor arguments, __setstate__ state and items.
 */
export class PickledObject implements PyStateful, PyContainer {
  state: unknown = undefined;
  readonly items = new Map<unknown, unknown>();
  readonly list: unknown[] = [];
  constructor(readonly className: string, readonly args: readonly unknown[]) {}
  setState(state: unknown): void { this.state = state; }
  setItem(key: unknown, value: unknown): void { this.items.set(key, value); }
  append(value: unknown): void { this.list.push(value); }
  /** The object's attribute dict (state, or the dict half of a (dict, slots) state), or undefined. */
  get attributes(): Map<unknown, unknown> | undefined {
    if (this.state instanceof Map) return this.state;
    if (Array.isArray(this.state) && this.state[0] instanceof Map) return this.state[0];
    return undefined;
  }
}

export type UnknownGlobals = 'reject' | 'placeholder';

function fail(message: string, code: 'corrupt' | 'unsupported' | 'unknown-global' = 'corrupt'): CheckpointError {
  return new CheckpointError(message, { code });
}

function callable(pyName: string, call: (args: unknown[]) => unknown, newObject?: PyCallable['newObject']): PyCallable {
  return newObject ? { pyName, call, newObject } : { pyName, call };
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function indexList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length > 64 || !v.every(isIndex)) throw fail(`${what} must be a tuple of at most 64 non-negative integers`);
  return v as number[];
}

function rebuildTensor(fn: string, args: unknown[], minArgs: number): TensorRef {
  if (args.length < minArgs) throw fail(`${fn} takes at least ${minArgs} arguments, got ${args.length}`);
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!(storage instanceof StorageRef)) throw fail(`${fn}: the first argument is not a storage`);
  if (!isIndex(offset)) throw fail(`${fn}: storage offset must be a non-negative integer`);
  const sz = indexList(size, `${fn}: size`);
  const st = indexList(stride, `${fn}: stride`);
  if (sz.length !== st.length) throw fail(`${fn}: size has ${sz.length} dims but stride ${st.length}`);
  return new TensorRef(storage, offset, sz, st, requiresGrad === true);
}

function rebuildParameter(fn: string, args: unknown[]): TensorRef {
  const [data, requiresGrad] = args;
  if (!(data instanceof TensorRef)) throw fail(`${fn}: the data is not a tensor`);
  return new TensorRef(data.storage, data.storageOffset, data.size, data.stride, requiresGrad !== false, true);
}

/** A class that can be named (as new_type of _rebuild_from_type_v2) but not instantiated. */
function marker(pyName: string): PyCallable {
  return callable(pyName, () => {
    throw fail(`the pickle instantiates ${pyName} directly, which robusta does not support`, 'unsupported');
  });
}

function toMap(pyName: string, args: unknown[]): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  const src = args[0];
  if (src === undefined || src === null) return m;
  if (src instanceof Map) return new Map(src);
  if (!Array.isArray(src)) throw fail(`${pyName}() of a ${typeof src}`);
  for (const pair of src) {
    if (!Array.isArray(pair) || pair.length !== 2) throw fail(`${pyName}() expects (key, value) pairs`);
    m.set(pair[0], pair[1]);
  }
  return m;
}

/** _codecs.encode(str, 'latin1'): how protocol 2 pickles bytes (numpy scalars' payloads). */
function latin1Encode(args: unknown[]): Uint8Array {
  const [s, enc] = args;
  if (typeof s !== 'string') throw fail('_codecs.encode of a non-string');
  const e = typeof enc === 'string' ? enc.toLowerCase().replace('_', '-') : 'utf-8';
  if (e === 'latin1' || e === 'latin-1' || e === 'iso-8859-1') {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw fail('_codecs.encode: character outside latin-1');
      out[i] = c;
    }
    return out;
  }
  if (e === 'utf-8' || e === 'utf8') return new TextEncoder().encode(s);
  throw fail(`_codecs.encode with encoding '${String(enc)}'`, 'unsupported');
}

/** numpy.dtype('f8', False, True) and its BUILD state (version, byteorder, ...). */
class NumpyDtype implements PyStateful {
  byteorder = '<';
  constructor(readonly spec: string) {}
  setState(state: unknown): void {
    if (Array.isArray(state) && typeof state[1] === 'string') this.byteorder = state[1];
  }
}

/** numpy.core.multiarray.scalar(dtype, bytes) → number / bigint / boolean. */
function numpyScalar(args: unknown[]): number | bigint | boolean {
  const [dtype, raw] = args;
  if (!(dtype instanceof NumpyDtype) || !(raw instanceof Uint8Array)) throw fail('numpy scalar: expected (dtype, bytes)');
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(dtype.spec);
  if (!m) throw fail(`numpy scalar of dtype '${dtype.spec}'`, 'unsupported');
  const kind = m[2]!;
  const size = Number(m[3]);
  if (raw.byteLength !== size) throw fail(`numpy scalar of dtype '${dtype.spec}' with ${raw.byteLength} bytes`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = dtype.byteorder !== '>';
  const toNum = (v: bigint): number | bigint => (v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  switch (`${kind}${size}`) {
    case 'f8': return dv.getFloat64(0, le);
    case 'f4': return dv.getFloat32(0, le);
    case 'i8': return toNum(dv.getBigInt64(0, le));
    case 'u8': return toNum(dv.getBigUint64(0, le));
    case 'i4': return dv.getInt32(0, le);
    case 'u4': return dv.getUint32(0, le);
    case 'i2': return dv.getInt16(0, le);
    case 'u2': return dv.getUint16(0, le);
    case 'i1': return dv.getInt8(0);
    case 'u1': return dv.getUint8(0);
    case 'b1': return dv.getUint8(0) !== 0;
    default: throw fail(`numpy scalar of dtype '${dtype.spec}'`, 'unsupported');
  }
}

function unknownGlobalMessage(full: string): string {
  let hint = 'robusta runs no pickled code and loads only tensors and plain containers';
  if (full.startsWith('__torch__.')) hint = 'this looks like a TorchScript archive (torch.jit.save), which robusta does not load; save the state_dict instead';
  else if (/^(torch\.nn\.|torchvision\.|timm\.)/.test(full) || /\.(models?|nets?|modules?)\b/.test(full)) {
    hint = 'the checkpoint pickles a whole model object; save model.state_dict() instead, or load with { unknownGlobals: \'placeholder\' } (loadStateDict then reads the tensors out of the module tree)';
  } else hint += '; pass { unknownGlobals: \'placeholder\' } to read such objects as inert PickledObject records';
  return `the pickle names the Python global '${full}', which is not on robusta's allow-list (${hint})`;
}

const BUILTIN_MODULES = new Set(['builtins', '__builtin__']);
const NUMPY_MULTIARRAY = new Set(['numpy.core.multiarray', 'numpy._core.multiarray']);

/** The GLOBAL resolver for torch checkpoints. */
export function torchGlobals(unknownGlobals: UnknownGlobals): (module: string, name: string) => unknown {
  const table = new Map<string, unknown>();
  const def = (full: string, v: unknown): void => void table.set(full, v);

  const orderedDict = callable('collections.OrderedDict', (a) => toMap('OrderedDict', a), (a) => toMap('OrderedDict', a));
  def('collections.OrderedDict', orderedDict);
  // defaultdict(factory): the factory only matters for missing keys, which a loaded dict never asks for.
  def('collections.defaultdict', callable('collections.defaultdict', () => new Map(), () => new Map()));

  for (const b of BUILTIN_MODULES) {
    const mk = (name: string, fn: (a: unknown[]) => unknown): void => def(`${b}.${name}`, callable(`builtins.${name}`, fn, fn));
    mk('set', (a) => new Set(Array.isArray(a[0]) ? a[0] : a[0] instanceof Set ? a[0] : []));
    mk('frozenset', (a) => new Set(Array.isArray(a[0]) ? a[0] : a[0] instanceof Set ? a[0] : []));
    mk('list', (a) => (Array.isArray(a[0]) ? [...a[0]] : []));
    mk('tuple', (a) => (Array.isArray(a[0]) ? [...a[0]] : []));
    mk('dict', (a) => toMap('dict', a));
    mk('int', (a) => (typeof a[0] === 'number' || typeof a[0] === 'bigint' ? a[0] : 0));
    mk('float', (a) => (typeof a[0] === 'number' ? a[0] : 0));
    mk('bool', (a) => a[0] === true);
    mk('str', (a) => (typeof a[0] === 'string' ? a[0] : ''));
    mk('bytes', (a) => (a[0] instanceof Uint8Array ? a[0] : new Uint8Array(0)));
    mk('bytearray', (a) => (a[0] instanceof Uint8Array ? new Uint8Array(a[0]) : typeof a[0] === 'string' ? latin1Encode(a) : new Uint8Array(0)));
  }
  def('_codecs.encode', callable('_codecs.encode', latin1Encode));

  def('torch._utils._rebuild_tensor_v2', callable('torch._utils._rebuild_tensor_v2', (a) => rebuildTensor('_rebuild_tensor_v2', a, 5)));
  def('torch._utils._rebuild_tensor', callable('torch._utils._rebuild_tensor', (a) => rebuildTensor('_rebuild_tensor', a, 4)));
  def('torch._utils._rebuild_parameter', callable('torch._utils._rebuild_parameter', (a) => rebuildParameter('_rebuild_parameter', a)));
  def('torch._utils._rebuild_parameter_with_state',
    callable('torch._utils._rebuild_parameter_with_state', (a) => rebuildParameter('_rebuild_parameter_with_state', a)));
  // Tensor subclasses and tensors with Python attributes: (func, new_type, args, state); the type and
  // state are dropped, the tensor kept.
  const fromType = (pyName: string) => callable(pyName, (a) => {
    const [fn, , args] = a;
    if (!isPyCallable(fn) || !Array.isArray(args)) throw fail(`${pyName}: malformed arguments`);
    const t = fn.call(args);
    if (!(t instanceof TensorRef)) throw fail(`${pyName}: ${fn.pyName} did not build a tensor`);
    return t;
  });
  def('torch._tensor._rebuild_from_type_v2', fromType('torch._tensor._rebuild_from_type_v2'));
  def('torch._utils._rebuild_from_type', fromType('torch._utils._rebuild_from_type'));
  def('torch._tensor.Tensor', marker('torch.Tensor'));
  def('torch.Tensor', marker('torch.Tensor'));
  def('torch.nn.parameter.Parameter', marker('torch.nn.parameter.Parameter'));

  for (const [name, dtype] of STORAGE_DTYPE) {
    const storage = { pyName: `torch.${name}`, storageDtype: dtype, call: () => { throw fail(`torch.${name}() called directly`, 'unsupported'); } };
    def(`torch.${name}`, storage);
    def(`torch.cuda.${name}`, storage); // PyTorch < 1.11 named CUDA storages by their CUDA class
  }
  def('torch.device', callable('torch.device', (a) => {
    const [type, index] = a;
    if (typeof type !== 'string') throw fail('torch.device(...) of a non-string');
    return typeof index === 'number' ? `${type}:${index}` : type;
  }));
  def('torch.Size', callable('torch.Size', (a) => (Array.isArray(a[0]) ? [...a[0]] : [])));

  def('numpy.dtype', callable('numpy.dtype', (a) => {
    if (typeof a[0] !== 'string') throw fail('numpy.dtype of a non-string');
    return new NumpyDtype(a[0]);
  }));
  for (const m of NUMPY_MULTIARRAY) def(`${m}.scalar`, callable('numpy.scalar', numpyScalar));

  return (module, name) => {
    const full = `${module}.${name}`;
    const known = table.get(full);
    if (known !== undefined) return known;
    if (/^torch(\.cuda)?$/.test(module) && UNSUPPORTED_STORAGES.has(name)) {
      throw fail(`the checkpoint holds a ${full}, an element type robusta's engine does not represent`, 'unsupported');
    }
    if (unknownGlobals === 'placeholder') {
      if ((module === 'copyreg' || module === 'copy_reg') && name === '_reconstructor') {
        // copyreg._reconstructor(cls, base, state): object.__new__(cls), recorded as cls.
        return callable(full, (a) => new PickledObject(isPyCallable(a[0]) ? a[0].pyName : 'object', []));
      }
      const make = (args: unknown[]): PickledObject => new PickledObject(full, args);
      return callable(full, make, make);
    }
    throw fail(unknownGlobalMessage(full), 'unknown-global');
  };
}

/** The dtype of a storage class stand-in (torch.FloatStorage ...), or undefined for anything else. */
export function storageClassDtype(v: unknown): DType | undefined {
  return typeof v === 'object' && v !== null && 'storageDtype' in v ? (v as { storageDtype: DType }).storageDtype : undefined;
}
