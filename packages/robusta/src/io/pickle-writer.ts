// Writes the data.pkl of a torch.save zip archive: pickle protocol 2 (torch.save's default) with
// tensors as torch._utils._rebuild_tensor_v2 calls over persistent storage ids, so torch.load
// rebuilds them. JS values map to Python as: null→None, boolean→bool, integer number/bigint→int,
// other number→float (including integers beyond 2^53, which a JS number cannot hold exactly; use bigint), string→str, Array→list, Map→collections.OrderedDict, plain object→dict,
// Tensor→torch.Tensor. Shared objects are memoised, so identity (and cycles) survive.
import { Tensor, type DType } from '@robusta/torch';
import { storageTypeName } from './dtypes.js';

const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, BINFLOAT: 0x47, BINUNICODE: 0x58,
  EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  SETITEMS: 0x75, APPENDS: 0x65, BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68, LONG_BINGET: 0x6a,
  GLOBAL: 0x63, BINPERSID: 0x51, REDUCE: 0x52,
} as const;

/** Python's pickler batches SETITEMS/APPENDS by 1000 items. */
const BATCH = 1000;

/** A storage to write as `data/<key>`: the tensor whose contiguous elements it holds. */
export interface StorageToWrite {
  key: string;
  tensor: Tensor;
}

class ByteBuilder {
  private buf = new Uint8Array(1 << 12);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  byte(b: number): void { this.ensure(1); this.buf[this.length++] = b; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.length); this.length += b.length; }
  u16(v: number): void { this.ensure(2); new DataView(this.buf.buffer).setUint16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.ensure(4); new DataView(this.buf.buffer).setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.ensure(4); new DataView(this.buf.buffer).setInt32(this.length, v, true); this.length += 4; }
  f64be(v: number): void { this.ensure(8); new DataView(this.buf.buffer).setFloat64(this.length, v, false); this.length += 8; }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function describe(v: unknown): string {
  if (typeof v === 'object' && v !== null) return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** Two's complement little-endian bytes of an integer, as short as Python's encode_long makes them. */
function encodeLong(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const out: number[] = [];
  let x = v;
  for (;;) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
    const sign = out[out.length - 1]! & 0x80;
    if ((x === 0n && !sign) || (x === -1n && sign)) break;
  }
  return Uint8Array.from(out);
}

export class TorchPickler {
  private readonly out = new ByteBuilder();
  private readonly memo = new Map<unknown, number>();
  private readonly globals = new Map<string, number>();
  private nextMemo = 0;
  readonly storages: StorageToWrite[] = [];
  private readonly storageOf = new Map<Tensor, string>();
  private readonly enc = new TextEncoder();

  /** The complete pickle of `value`. */
  dump(value: unknown): Uint8Array {
    this.out.byte(OP.PROTO);
    this.out.byte(2);
    this.value(value, 'value');
    this.out.byte(OP.STOP);
    return this.out.result();
  }

  private put(key: unknown): void {
    const i = this.nextMemo++;
    this.memo.set(key, i);
    if (i < 256) { this.out.byte(OP.BINPUT); this.out.byte(i); } else { this.out.byte(OP.LONG_BINPUT); this.out.u32(i); }
  }
  private get(i: number): void {
    if (i < 256) { this.out.byte(OP.BINGET); this.out.byte(i); } else { this.out.byte(OP.LONG_BINGET); this.out.u32(i); }
  }

  private global(module: string, name: string): void {
    const full = `${module}\n${name}\n`;
    const known = this.globals.get(full);
    if (known !== undefined) return this.get(known);
    this.out.byte(OP.GLOBAL);
    this.out.bytes(this.enc.encode(full));
    const i = this.nextMemo++;
    this.globals.set(full, i);
    if (i < 256) { this.out.byte(OP.BINPUT); this.out.byte(i); } else { this.out.byte(OP.LONG_BINPUT); this.out.u32(i); }
  }

  private int(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v < 256) { this.out.byte(OP.BININT1); this.out.byte(v); return; }
    if (typeof v === 'number' && v >= 0 && v < 65536) { this.out.byte(OP.BININT2); this.out.u16(v); return; }
    if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) { this.out.byte(OP.BININT); this.out.i32(v); return; }
    const b = encodeLong(BigInt(v));
    this.out.byte(OP.LONG1);
    this.out.byte(b.length);
    this.out.bytes(b);
  }

  private str(s: string): void {
    const b = this.enc.encode(s);
    this.out.byte(OP.BINUNICODE);
    this.out.u32(b.length);
    this.out.bytes(b);
  }

  private intTuple(values: readonly number[]): void {
    if (values.length === 0) { this.out.byte(OP.EMPTY_TUPLE); return; }
    if (values.length > 3) this.out.byte(OP.MARK);
    for (const v of values) this.int(v);
    this.out.byte(values.length === 1 ? OP.TUPLE1 : values.length === 2 ? OP.TUPLE2 : values.length === 3 ? OP.TUPLE3 : OP.TUPLE);
  }

  private emptyOrderedDict(): void {
    this.global('collections', 'OrderedDict');
    this.out.byte(OP.EMPTY_TUPLE);
    this.out.byte(OP.REDUCE);
  }

  private tensor(t: Tensor): void {
    if (t.isDisposed) throw new TypeError('saveTorchFile: a tensor in the value was already disposed');
    const dtype: DType = t.dtype;
    let key = this.storageOf.get(t);
    if (key === undefined) {
      key = String(this.storages.length);
      this.storageOf.set(t, key);
      this.storages.push({ key, tensor: t });
    }
    const shape = t.shape;
    const stride = new Array<number>(shape.length);
    for (let d = shape.length - 1, s = 1; d >= 0; d--) { stride[d] = s; s *= shape[d]!; }
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.out.byte(OP.MARK);
    // persistent id ('storage', torch.<T>Storage, key, location, numel)
    this.out.byte(OP.MARK);
    this.str('storage');
    this.global('torch', storageTypeName(dtype));
    this.str(key);
    this.str('cpu');
    this.int(t.numel());
    this.out.byte(OP.TUPLE);
    this.out.byte(OP.BINPERSID);
    this.int(0);
    this.intTuple(shape);
    this.intTuple(stride);
    this.out.byte(t.requiresGrad ? OP.NEWTRUE : OP.NEWFALSE);
    this.emptyOrderedDict(); // backward hooks
    this.out.byte(OP.TUPLE);
    this.out.byte(OP.REDUCE);
    this.put(t);
  }

  private items(entries: Iterable<[unknown, unknown]>, path: string): void {
    let batch = 0;
    for (const [k, v] of entries) {
      if (batch === 0) this.out.byte(OP.MARK);
      this.key(k, path);
      this.value(v, `${path}.${String(k)}`);
      if (++batch === BATCH) { this.out.byte(OP.SETITEMS); batch = 0; }
    }
    if (batch > 0) this.out.byte(OP.SETITEMS);
  }

  private key(k: unknown, path: string): void {
    if (typeof k === 'string') this.str(k);
    else if ((typeof k === 'number' && Number.isSafeInteger(k)) || typeof k === 'bigint') this.int(k);
    else throw new TypeError(`saveTorchFile: ${path} has a key of type ${describe(k)} (use strings or integers)`);
  }

  private value(v: unknown, path: string): void {
    if (v === null) { this.out.byte(OP.NONE); return; }
    switch (typeof v) {
      case 'boolean': this.out.byte(v ? OP.NEWTRUE : OP.NEWFALSE); return;
      case 'bigint': this.int(v); return;
      case 'number':
        if (Number.isSafeInteger(v)) this.int(v);
        else { this.out.byte(OP.BINFLOAT); this.out.f64be(v); }
        return;
      case 'string': this.str(v); return;
      case 'object': break;
      default: throw new TypeError(`saveTorchFile: ${path} is ${v === undefined ? 'undefined' : `a ${typeof v}`}, which Python cannot receive`);
    }
    const memoised = this.memo.get(v);
    if (memoised !== undefined) { this.get(memoised); return; }
    if (v instanceof Tensor) { this.tensor(v); return; }
    if (Array.isArray(v)) {
      this.out.byte(OP.EMPTY_LIST);
      this.put(v);
      for (let i = 0; i < v.length; i += BATCH) {
        this.out.byte(OP.MARK);
        for (let j = i; j < Math.min(v.length, i + BATCH); j++) this.value(v[j], `${path}[${j}]`);
        this.out.byte(OP.APPENDS);
      }
      return;
    }
    if (v instanceof Map) {
      this.emptyOrderedDict();
      this.put(v);
      this.items(v, path);
      return;
    }
    if (isPlainObject(v as object)) {
      this.out.byte(OP.EMPTY_DICT);
      this.put(v);
      // Like JSON, properties holding undefined are left out.
      this.items(Object.entries(v as object).filter(([, x]) => x !== undefined), path);
      return;
    }
    throw new TypeError(`saveTorchFile: ${path} is a ${describe(v)}; save tensors, numbers, strings, booleans, null, arrays, Maps and plain objects`);
  }
}
