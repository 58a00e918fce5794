// safetensors (https://github.com/huggingface/safetensors, format spec in its README): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {str: str}}, then the byte buffer. Offsets are relative to the buffer, which the
// tensors must cover exactly, back to back. Read with every field validated; written as the reference
// implementation does (tensors ordered by decreasing alignment then name, header padded to 8 bytes).
import { Tensor, type DType } from '@robusta/torch';
import { checkInput, concatBytes, withSource, type ByteSource } from './byte-source.js';
import { CheckpointError, withCheckpointErrors } from './errors.js';
import { ELEMENT_SIZE, tensorBytes, tensorFromBytes } from './dtypes.js';
import { writeFileAtomic } from './atomic-write.js';

/** The reference implementation's limit on the JSON header. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

const DTYPE_OF = new Map<string, DType>([
  ['BOOL', 'bool'], ['U8', 'uint8'], ['I8', 'int8'], ['I16', 'int16'], ['F16', 'float16'], ['BF16', 'bfloat16'],
  ['I32', 'int32'], ['F32', 'float32'], ['I64', 'int64'], ['F64', 'float64'],
]);
const CODE_OF = new Map<DType, string>([...DTYPE_OF].map(([c, d]) => [d, c]));
/** In the spec but without a libtorch 1.13 dtype. */
const UNREPRESENTABLE = new Set(['U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8_E4M3FN', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64', 'C128']);

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** [begin, end) in the byte buffer that follows the header. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Where the byte buffer starts in the file (8 + header length). */
  dataStart: number;
}

export interface SafetensorsFile {
  /** Tensors in file order (CPU, contiguous); the caller owns them. */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

function bad(message: string, code: 'corrupt' | 'truncated' | 'out-of-bounds' | 'unsupported' = 'corrupt'): CheckpointError {
  return new CheckpointError(`safetensors: ${message}`, { code });
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates the header against the file size; reads no tensor data. */
export function parseSafetensorsHeader(src: ByteSource): SafetensorsHeader {
  if (src.size < 8) throw bad(`${src.size} bytes cannot hold the header length`, 'truncated');
  const lenBytes = src.read(0, 8, 'safetensors header length');
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_SAFETENSORS_HEADER)) throw bad(`header length ${n} exceeds the ${MAX_SAFETENSORS_HEADER}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > src.size) throw bad(`header of ${headerLen} bytes runs past the end of the ${src.size}-byte file`, 'truncated');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, headerLen, 'safetensors header')));
  } catch (err) {
    throw new CheckpointError(`safetensors: the header is not valid UTF-8 JSON (${(err as Error).message})`, { code: 'corrupt', cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('the header is not a JSON object');
  const dataStart = 8 + headerLen;
  const bufferLen = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) throw bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw bad(`__metadata__['${k}'] is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof info !== 'object' || info === null || Array.isArray(info)) throw bad(`entry '${name}' is not an object`);
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof code !== 'string') throw bad(`'${name}' has no dtype`);
    const dtype = DTYPE_OF.get(code);
    if (dtype === undefined) {
      throw UNREPRESENTABLE.has(code) ? bad(`'${name}' has dtype ${code}, which robusta's engine does not represent`, 'unsupported') : bad(`'${name}' has unknown dtype '${code}'`);
    }
    if (!Array.isArray(shape) || shape.length > 64 || !shape.every(isIndex)) throw bad(`'${name}' has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isIndex(offsets[0]) || !isIndex(offsets[1]) || offsets[0] > offsets[1]) {
      throw bad(`'${name}' has invalid data_offsets`);
    }
    if (offsets[1] > bufferLen) throw bad(`'${name}' ends at ${offsets[1]} but the data buffer has ${bufferLen} bytes`, 'out-of-bounds');
    // numel × size must equal the byte range; multiply with an early exit so huge shapes cannot overflow silently.
    let nbytes = ELEMENT_SIZE[dtype];
    for (const s of shape as number[]) {
      nbytes *= s;
      if (nbytes > bufferLen) break;
    }
    if (nbytes !== offsets[1] - offsets[0]) throw bad(`'${name}': shape [${(shape as number[]).join(', ')}] of ${code} needs ${nbytes} bytes, data_offsets give ${offsets[1] - offsets[0]}`);
    entries.push({ name, dtype, shape: shape as number[], dataOffsets: [offsets[0], offsets[1]] });
  }
  // The tensors must tile the buffer: no gaps, no overlaps, nothing left over.
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  for (const e of entries) {
    if (e.dataOffsets[0] !== end) throw bad(`'${e.name}' starts at ${e.dataOffsets[0]}, expected ${end} (gap or overlap)`);
    end = e.dataOffsets[1];
  }
  if (end !== bufferLen) throw bad(`the tensors cover ${end} bytes of a ${bufferLen}-byte data buffer`);
  return { entries, metadata, dataStart };
}

/** Reads every tensor of an open safetensors source. */
export function readSafetensorsFrom(src: ByteSource): SafetensorsFile {
  const header = parseSafetensorsHeader(src);
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of header.entries) {
      const bytes = src.read(header.dataStart + e.dataOffsets[0], e.dataOffsets[1] - e.dataOffsets[0], `tensor '${e.name}'`);
      const flat = tensorFromBytes(bytes, e.dtype);
      tensors.set(e.name, flat.reshape(e.shape));
      flat.dispose();
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata: header.metadata };
}

/** Reads a safetensors file (path or bytes). */
export function loadSafetensors(input: string | Uint8Array): SafetensorsFile {
  checkInput(input);
  return withCheckpointErrors(typeof input === 'string' ? input : undefined, 'cannot load', () => withSource(input, readSafetensorsFrom));
}

/** The header of a safetensors file without reading its tensors. */
export function readSafetensorsHeader(input: string | Uint8Array): SafetensorsHeader {
  checkInput(input);
  return withCheckpointErrors(typeof input === 'string' ? input : undefined, 'cannot read', () => withSource(input, parseSafetensorsHeader));
}

export type TensorDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

interface Layout {
  header: Uint8Array;
  order: [string, Tensor][];
}

function layout(tensors: TensorDict, metadata: Readonly<Record<string, string>> | undefined): Layout {
  const entries: [string, Tensor][] = tensors instanceof Map ? [...tensors] : Object.entries(tensors as Record<string, Tensor>);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new TypeError("safetensors: '__metadata__' cannot name a tensor");
    if (!(t instanceof Tensor)) throw new TypeError(`safetensors: '${name}' is not a Tensor`);
    if (t.isDisposed) throw new TypeError(`safetensors: '${name}' was disposed`);
  }
  // Largest elements first keeps every tensor aligned to its element size (as the reference writer does).
  const order = [...entries].sort(([an, a], [bn, b]) => ELEMENT_SIZE[b.dtype] - ELEMENT_SIZE[a.dtype] || (an < bn ? -1 : an > bn ? 1 : 0));
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new TypeError(`safetensors: metadata '${k}' must be a string`);
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, t] of order) {
    const nbytes = t.numel() * ELEMENT_SIZE[t.dtype];
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: CODE_OF.get(t.dtype), shape: t.shape, data_offsets: [offset, offset + nbytes] })}`);
    offset += nbytes;
  }
  // JSON built by hand: a JS object would move integer-like names ("0") ahead of the others.
  let json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const header = new Uint8Array(8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(json.length), true);
  header.set(json, 8);
  return { header, order };
}

/** The bytes of a safetensors file holding `tensors` (and string metadata). */
export function encodeSafetensors(tensors: TensorDict, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const { header, order } = layout(tensors, metadata);
  return concatBytes([header, ...order.map(([, t]) => tensorBytes(t))]);
}

/** Writes a safetensors file atomically. */
export function saveSafetensors(path: string, tensors: TensorDict, metadata?: Readonly<Record<string, string>>): void {
  const { header, order } = layout(tensors, metadata);
  writeFileAtomic(path, (write) => {
    write(header);
    for (const [, t] of order) write(tensorBytes(t));
  });
}
