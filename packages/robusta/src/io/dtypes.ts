// Element types as the checkpoint formats name them, and the raw little-endian bytes of tensors.
import { endianness } from 'node:os';
import { callOp, tensor, type DType, type Tensor } from '@robusta/torch';
import { CheckpointError } from './errors.js';

export const ELEMENT_SIZE: Readonly<Record<DType, number>> = {
  uint8: 1, int8: 1, bool: 1, int16: 2, float16: 2, bfloat16: 2, int32: 4, float32: 4, int64: 8, float64: 8,
};

/** c10::ScalarType codes, for the view-as-another-dtype operator (stable across libtorch versions). */
const SCALAR_TYPE: Readonly<Record<DType, number>> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, bool: 11, bfloat16: 15,
};

/** torch.<Name>Storage → dtype (the storage classes torch.save names in persistent ids). */
export const STORAGE_DTYPE: ReadonlyMap<string, DType> = new Map<string, DType>([
  ['DoubleStorage', 'float64'], ['FloatStorage', 'float32'], ['HalfStorage', 'float16'], ['BFloat16Storage', 'bfloat16'],
  ['LongStorage', 'int64'], ['IntStorage', 'int32'], ['ShortStorage', 'int16'], ['CharStorage', 'int8'],
  ['ByteStorage', 'uint8'], ['BoolStorage', 'bool'], ['UntypedStorage', 'uint8'],
]);

/** Storage classes that exist in PyTorch but hold elements robusta's engine has no dtype for. */
export const UNSUPPORTED_STORAGES: ReadonlySet<string> = new Set([
  'ComplexFloatStorage', 'ComplexDoubleStorage', 'ComplexHalfStorage', 'QUInt8Storage', 'QInt8Storage',
  'QInt32Storage', 'QUInt4x2Storage', 'QUInt2x4Storage',
]);

const STORAGE_NAME = new Map<DType, string>(
  [...STORAGE_DTYPE].filter(([n]) => n !== 'UntypedStorage').map(([n, d]) => [d, n]),
);
export function storageTypeName(d: DType): string {
  const n = STORAGE_NAME.get(d);
  if (n === undefined) throw new TypeError(`no torch storage type for dtype '${d}'`);
  return n;
}

function checkHost(): void {
  if (endianness() !== 'LE') throw new CheckpointError('checkpoint I/O needs a little-endian host', { code: 'unsupported' });
}

/**
 * A 1-D CPU tensor of `dtype` holding a copy of `bytes` (little-endian, as every checkpoint format
 * stores them). Built as uint8 and reinterpreted, which covers float16/bfloat16/bool too.
 */
export function tensorFromBytes(bytes: Uint8Array, dtype: DType): Tensor {
  checkHost();
  const size = ELEMENT_SIZE[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new CheckpointError(`${bytes.byteLength} bytes are not a whole number of ${dtype} elements`, { code: 'corrupt' });
  }
  const raw = tensor(bytes, { shape: [bytes.byteLength] });
  if (dtype === 'uint8') return raw;
  try {
    return callOp('aten::view.dtype', [raw, SCALAR_TYPE[dtype]]) as Tensor;
  } finally {
    raw.dispose(); // the view keeps the storage alive
  }
}

/** The elements of a tensor as contiguous little-endian bytes (copied from any device). */
export function tensorBytes(t: Tensor): Uint8Array {
  checkHost();
  const temps: Tensor[] = [];
  try {
    let c = t;
    if (c.device !== 'cpu') temps.push((c = c.to({ device: 'cpu' })));
    if (!c.isContiguous()) temps.push((c = c.contiguous()));
    // float16/bfloat16 have no typed array: read their bits through an int16 view.
    if (c.dtype === 'float16' || c.dtype === 'bfloat16') temps.push((c = callOp('aten::view.dtype', [c, SCALAR_TYPE.int16]) as Tensor));
    const a = c.data();
    return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  } finally {
    for (const x of temps) x.dispose();
  }
}
