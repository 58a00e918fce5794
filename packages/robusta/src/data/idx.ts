// The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"):
//   bytes 0-1  zero
//   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
//   byte  3    number of dimensions
//   then one big-endian uint32 per dimension, then the elements in row-major order, big-endian.
import { readFileSync } from 'node:fs';
import { DataFormatError } from './errors.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  /** The elements in row-major order, in native byte order. One-byte types view the input bytes (no copy). */
  data: IdxData;
}

const TYPES: Record<number, { dtype: IdxDtype; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};
const CODES: Record<IdxDtype, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };

/** Parses an IDX file's bytes. Throws DataFormatError on a wrong magic number or a truncated file. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (bytes.length < 4) throw new DataFormatError(`${source}: ${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const hint = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (it is gzip-compressed: gunzip it first)' : '';
    throw new DataFormatError(`${source}: not an IDX file: the magic number must start with two zero bytes${hint}`);
  }
  const type = TYPES[bytes[2]!];
  if (type === undefined) {
    throw new DataFormatError(`${source}: unknown IDX element type 0x${bytes[2]!.toString(16).padStart(2, '0')}`);
  }
  const ndim = bytes[3]!;
  const headerSize = 4 + 4 * ndim;
  if (bytes.length < headerSize) {
    throw new DataFormatError(`${source}: truncated header: ${ndim} dimensions need ${headerSize} bytes, the file has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerSize + count * type.size;
  if (bytes.length < expected) {
    throw new DataFormatError(
      `${source}: truncated: shape [${shape.join(', ')}] of ${type.dtype} needs ${expected} bytes, the file has ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new DataFormatError(`${source}: ${bytes.length - expected} unexpected trailing bytes after shape [${shape.join(', ')}]`);
  }
  const start = bytes.byteOffset + headerSize;
  let data: IdxData;
  switch (type.dtype) {
    case 'uint8': data = new Uint8Array(bytes.buffer, start, count); break;
    case 'int8': data = new Int8Array(bytes.buffer, start, count); break;
    case 'int16': { const a = new Int16Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt16(headerSize + 2 * i, false); data = a; break; }
    case 'int32': { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt32(headerSize + 4 * i, false); data = a; break; }
    case 'float32': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat32(headerSize + 4 * i, false); data = a; break; }
    case 'float64': { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat64(headerSize + 8 * i, false); data = a; break; }
  }
  return { dtype: type.dtype, shape, data };
}

/** Reads and parses an IDX file (uncompressed). */
export function readIdx(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}

function dtypeOfData(data: IdxData): IdxDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  throw new TypeError('encodeIdx: data must be a Uint8, Int8, Int16, Int32, Float32 or Float64 array');
}

/** Writes an array in the IDX format (the inverse of parseIdx). */
export function encodeIdx(data: IdxData, shape: readonly number[]): Uint8Array {
  const dtype = dtypeOfData(data);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`encodeIdx: shape [${shape.join(', ')}] holds ${count} elements, data has ${data.length}`);
  if (shape.length > 255) throw new RangeError('encodeIdx: at most 255 dimensions');
  const size = data.BYTES_PER_ELEMENT;
  const headerSize = 4 + 4 * shape.length;
  const out = new Uint8Array(headerSize + count * size);
  const view = new DataView(out.buffer);
  out[2] = CODES[dtype];
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  if (size === 1) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, count), headerSize);
  } else {
    for (let i = 0; i < count; i++) {
      const o = headerSize + i * size;
      const v = data[i]!;
      if (dtype === 'int16') view.setInt16(o, v, false);
      else if (dtype === 'int32') view.setInt32(o, v, false);
      else if (dtype === 'float32') view.setFloat32(o, v, false);
      else view.setFloat64(o, v, false);
    }
  }
  return out;
}
