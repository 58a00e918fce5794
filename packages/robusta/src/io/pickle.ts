// A safe unpickler for the subset of Python's pickle protocols 2–5 that torch.save produces. It never
// executes anything: GLOBAL/STACK_GLOBAL names are resolved by a caller-given allow-list into inert JS
// values, and REDUCE/NEWOBJ/BUILD only call those. Values map to JS as:
//   None→null, bool→boolean, int→number (bigint beyond 2^53), float→number, str→string, bytes→Uint8Array,
//   list and tuple→Array, dict→Map (insertion order kept), set/frozenset→Set.
// The loop consumes at least one byte per opcode and every length is checked against the buffer, so
// a forged or truncated pickle ends in a CheckpointError, never a hang or a huge allocation.
import { CheckpointError, type CheckpointErrorCode } from './errors.js';

/** A Python callable or class from the allow-list: what REDUCE, NEWOBJ and BUILD may act on. */
export interface PyCallable {
  /** "module.name", for messages. */
  readonly pyName: string;
  /** REDUCE: callable(*args). */
  call(args: unknown[]): unknown;
  /** NEWOBJ: cls.__new__(cls, *args); defaults to call(). */
  newObject?(args: unknown[], kwargs?: Map<unknown, unknown>): unknown;
}

/** Values that accept BUILD (obj.__setstate__(state)) implement this. */
export interface PyStateful {
  setState(state: unknown): void;
}

/** Values that accept SETITEM(S)/APPEND(S) besides Map and Array implement this. */
export interface PyContainer {
  setItem?(key: unknown, value: unknown): void;
  append?(value: unknown): void;
}

export interface UnpickleOptions {
  /** Resolves GLOBAL module.name to a value (usually a PyCallable); throws for names it refuses. */
  findGlobal(module: string, name: string): unknown;
  /** Resolves a persistent id (BINPERSID); absent means persistent ids are refused. */
  persistentLoad?(pid: unknown): unknown;
  /** What to call the pickle in messages ("data.pkl"). */
  what?: string;
}

export interface UnpickleResult {
  value: unknown;
  /** The offset just past STOP: where a following pickle in the same stream starts. */
  end: number;
}

export function isPyCallable(v: unknown): v is PyCallable {
  return typeof v === 'object' && v !== null && typeof (v as PyCallable).call === 'function' && typeof (v as PyCallable).pyName === 'string';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list/tuple';
  if (v instanceof Map) return 'dict';
  if (isPyCallable(v)) return v.pyName;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** Decodes a little-endian two's complement integer (LONG1/LONG4). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}

class Unpickler {
  private pos: number;
  private stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly dv: DataView;
  private readonly what: string;

  constructor(private readonly buf: Uint8Array, start: number, private readonly opts: UnpickleOptions) {
    this.pos = start;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.what = opts.what ?? 'pickle';
  }

  private fail(message: string, code: CheckpointErrorCode = 'corrupt'): CheckpointError {
    return new CheckpointError(`${this.what}: ${message}`, { code });
  }

  private need(n: number, what: string): number {
    const at = this.pos;
    if (!Number.isSafeInteger(n) || n < 0 || at + n > this.buf.length) {
      throw this.fail(`${what} at offset ${at} needs ${n} bytes but only ${this.buf.length - at} remain`, 'truncated');
    }
    this.pos += n;
    return at;
  }
  private u8(): number { return this.buf[this.need(1, 'an operand')]!; }
  private u16(): number { return this.dv.getUint16(this.need(2, 'an operand'), true); }
  private u32(): number { return this.dv.getUint32(this.need(4, 'an operand'), true); }
  private i32(): number { return this.dv.getInt32(this.need(4, 'an operand'), true); }
  private u64(what: string): number {
    const v = this.dv.getBigUint64(this.need(8, what), true);
    if (v > MAX_SAFE) throw this.fail(`${what} ${v} exceeds the data`, 'out-of-bounds');
    return Number(v);
  }
  private bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }
  private str(n: number, what: string): string {
    const b = this.bytes(n, what);
    try {
      return utf8.decode(b);
    } catch {
      throw this.fail(`${what} is not valid UTF-8`);
    }
  }
  private line(what: string): string {
    // GLOBAL operands: newline-terminated ASCII; a module path is never longer than a few hundred bytes.
    const limit = Math.min(this.buf.length, this.pos + 4096);
    for (let i = this.pos; i < limit; i++) {
      if (this.buf[i] === 0x0a) {
        const s = this.str(i - this.pos, what);
        this.pos++;
        return s;
      }
    }
    throw this.fail(`${what} has no terminating newline`, 'truncated');
  }

  private pop(): unknown {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= floor) throw this.fail(`stack underflow at offset ${this.pos - 1}`);
    return this.stack.pop();
  }
  private top(): unknown {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= floor) throw this.fail(`stack underflow at offset ${this.pos - 1}`);
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) throw this.fail(`no MARK before offset ${this.pos - 1}`);
    return this.stack.splice(m);
  }
  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) throw this.fail(`memo entry ${i} read before it was written`);
    return this.memo.get(i);
  }

  private setItem(target: unknown, key: unknown, value: unknown): void {
    if (target instanceof Map) target.set(key, value);
    else if (typeof target === 'object' && target !== null && typeof (target as PyContainer).setItem === 'function') {
      (target as PyContainer).setItem!(key, value);
    } else throw this.fail(`SETITEM on a ${describe(target)}`);
  }
  private append(target: unknown, value: unknown): void {
    if (Array.isArray(target)) target.push(value);
    else if (typeof target === 'object' && target !== null && typeof (target as PyContainer).append === 'function') {
      (target as PyContainer).append!(value);
    } else throw this.fail(`APPEND on a ${describe(target)}`);
  }
  private callable(v: unknown, op: string): PyCallable {
    if (!isPyCallable(v)) throw this.fail(`${op} on ${describe(v)}, which is not callable`);
    return v;
  }
  private tuple(v: unknown, op: string): unknown[] {
    if (!Array.isArray(v)) throw this.fail(`${op} expects an argument tuple, got ${describe(v)}`);
    return v;
  }

  run(): UnpickleResult {
    const buf = this.buf;
    for (;;) {
      if (this.pos >= buf.length) throw this.fail('ends without STOP', 'truncated');
      const at = this.pos;
      const op = buf[this.pos++]!;
      switch (op) {
        case 0x80: { // PROTO
          const p = this.u8();
          if (p > 5) throw this.fail(`pickle protocol ${p} is newer than 5`, 'unsupported');
          break;
        }
        case 0x95: this.u64('FRAME length'); break; // FRAME: framing is advisory, the opcodes follow inline
        case 0x2e: { // STOP
          const value = this.pop();
          return { value, end: this.pos };
        }
        case 0x28: this.marks.push(this.stack.length); break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.stack.push(this.top()); break; // DUP
        case 0x4e: this.stack.push(null); break; // NONE
        case 0x88: this.stack.push(true); break; // NEWTRUE
        case 0x89: this.stack.push(false); break; // NEWFALSE
        case 0x4a: this.stack.push(this.i32()); break; // BININT
        case 0x4b: this.stack.push(this.u8()); break; // BININT1
        case 0x4d: this.stack.push(this.u16()); break; // BININT2
        case 0x8a: { const n = this.u8(); this.stack.push(decodeLong(this.bytes(n, 'LONG1'))); break; }
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) throw this.fail(`LONG4 with negative length ${n}`);
          this.stack.push(decodeLong(this.bytes(n, 'LONG4')));
          break;
        }
        case 0x47: this.stack.push(this.dv.getFloat64(this.need(8, 'BINFLOAT'), false)); break; // BINFLOAT, big-endian
        case 0x58: { const n = this.u32(); this.stack.push(this.str(n, 'BINUNICODE')); break; }
        case 0x8c: { const n = this.u8(); this.stack.push(this.str(n, 'SHORT_BINUNICODE')); break; }
        case 0x8d: { const n = this.u64('BINUNICODE8 length'); this.stack.push(this.str(n, 'BINUNICODE8')); break; }
        // Python 2 str (BINSTRING/SHORT_BINSTRING): torch.load decodes them as UTF-8 by default.
        case 0x54: {
          const n = this.i32();
          if (n < 0) throw this.fail(`BINSTRING with negative length ${n}`);
          this.stack.push(this.str(n, 'BINSTRING'));
          break;
        }
        case 0x55: { const n = this.u8(); this.stack.push(this.str(n, 'SHORT_BINSTRING')); break; }
        case 0x42: { const n = this.u32(); this.stack.push(new Uint8Array(this.bytes(n, 'BINBYTES'))); break; }
        case 0x43: { const n = this.u8(); this.stack.push(new Uint8Array(this.bytes(n, 'SHORT_BINBYTES'))); break; }
        case 0x8e: { const n = this.u64('BINBYTES8 length'); this.stack.push(new Uint8Array(this.bytes(n, 'BINBYTES8'))); break; }
        case 0x96: { const n = this.u64('BYTEARRAY8 length'); this.stack.push(new Uint8Array(this.bytes(n, 'BYTEARRAY8'))); break; }
        case 0x7d: this.stack.push(new Map()); break; // EMPTY_DICT
        case 0x5d: this.stack.push([]); break; // EMPTY_LIST
        case 0x29: this.stack.push([]); break; // EMPTY_TUPLE
        case 0x8f: this.stack.push(new Set()); break; // EMPTY_SET
        case 0x74: this.stack.push(this.popMark()); break; // TUPLE
        case 0x85: { const a = this.pop(); this.stack.push([a]); break; } // TUPLE1
        case 0x86: { const b = this.pop(); const a = this.pop(); this.stack.push([a, b]); break; } // TUPLE2
        case 0x87: { const c = this.pop(); const b = this.pop(); const a = this.pop(); this.stack.push([a, b, c]); break; } // TUPLE3
        case 0x6c: this.stack.push(this.popMark()); break; // LIST
        case 0x64: { // DICT
          const items = this.popMark();
          if (items.length % 2 !== 0) throw this.fail('DICT with an odd number of items');
          const m = new Map();
          for (let i = 0; i < items.length; i += 2) m.set(items[i], items[i + 1]);
          this.stack.push(m);
          break;
        }
        case 0x91: this.stack.push(new Set(this.popMark())); break; // FROZENSET
        case 0x73: { const v = this.pop(); const k = this.pop(); this.setItem(this.top(), k, v); break; } // SETITEM
        case 0x75: { // SETITEMS
          const items = this.popMark();
          if (items.length % 2 !== 0) throw this.fail('SETITEMS with an odd number of items');
          const target = this.top();
          for (let i = 0; i < items.length; i += 2) this.setItem(target, items[i], items[i + 1]);
          break;
        }
        case 0x61: { const v = this.pop(); this.append(this.top(), v); break; } // APPEND
        case 0x65: { // APPENDS
          const items = this.popMark();
          const target = this.top();
          for (const v of items) this.append(target, v);
          break;
        }
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const target = this.top();
          if (!(target instanceof Set)) throw this.fail(`ADDITEMS on a ${describe(target)}`);
          for (const v of items) target.add(v);
          break;
        }
        case 0x71: this.memo.set(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        case 0x68: this.stack.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.stack.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x63: { // GLOBAL
          const module = this.line('GLOBAL module');
          const name = this.line('GLOBAL name');
          this.stack.push(this.opts.findGlobal(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw this.fail('STACK_GLOBAL needs two strings');
          this.stack.push(this.opts.findGlobal(module, name));
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.pop();
          if (!this.opts.persistentLoad) throw this.fail('a persistent id where none is expected');
          this.stack.push(this.opts.persistentLoad(pid));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.tuple(this.pop(), 'REDUCE');
          const fn = this.callable(this.pop(), 'REDUCE');
          this.stack.push(fn.call(args));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.tuple(this.pop(), 'NEWOBJ');
          const cls = this.callable(this.pop(), 'NEWOBJ');
          this.stack.push(cls.newObject ? cls.newObject(args) : cls.call(args));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.tuple(this.pop(), 'NEWOBJ_EX');
          const cls = this.callable(this.pop(), 'NEWOBJ_EX');
          if (!(kwargs instanceof Map)) throw this.fail('NEWOBJ_EX expects a kwargs dict');
          this.stack.push(cls.newObject ? cls.newObject(args, kwargs) : cls.call(args));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const obj = this.top();
          if (typeof obj === 'object' && obj !== null && typeof (obj as PyStateful).setState === 'function') {
            (obj as PyStateful).setState(state);
          } else if (!(obj instanceof Map)) {
            // An OrderedDict's state holds attributes such as a state_dict's _metadata: nothing to keep.
            throw this.fail(`BUILD on a ${describe(obj)}`);
          }
          break;
        }
        default:
          throw this.fail(`unsupported or invalid opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`,
            op >= 0x20 && op < 0x7f ? 'unsupported' : 'corrupt');
      }
    }
  }
}

/** Unpickles one pickle starting at `start`. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions, start = 0): UnpickleResult {
  return new Unpickler(bytes, start, options).run();
}
