// Test support: tensors travel between Node and the reference PyTorch through files in a temp dir
// (raw little-endian bytes plus a JSON index), too big for the JSON channel of runPython.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DType, type Tensor, tensor } from '@robusta/torch';

interface Entry {
  key: string;
  dtype: DType;
  shape: number[];
  offset: number;
  nbytes: number;
}

/** Python helpers: save_tensors(dir, name, dict) and load_tensors(dir, name) -> dict, same format. */
export const PY_TENSOR_FILES = `
import os, json, collections
def save_tensors(d, name, tensors):
    entries, chunks, offset = [], [], 0
    for k, t in tensors.items():
        t = t.detach().cpu().contiguous()
        b = t.numpy().tobytes()
        entries.append({'key': k, 'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'offset': offset, 'nbytes': len(b)})
        chunks.append(b); offset += len(b)
    with open(os.path.join(d, name + '.bin'), 'wb') as f: f.write(b''.join(chunks))
    with open(os.path.join(d, name + '.json'), 'w') as f: json.dump(entries, f)
def load_tensors(d, name):
    import numpy as np
    entries = json.load(open(os.path.join(d, name + '.json')))
    raw = open(os.path.join(d, name + '.bin'), 'rb').read()
    np_types = {'float32': np.float32, 'float64': np.float64, 'int64': np.int64, 'int32': np.int32, 'uint8': np.uint8}
    out = collections.OrderedDict()
    for e in entries:
        a = np.frombuffer(raw[e['offset']:e['offset'] + e['nbytes']], dtype=np_types[e['dtype']]).reshape(e['shape'])
        out[e['key']] = torch.from_numpy(a.copy())
    return out
`;

export function makeTempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-nn-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeTensors(dir: string, name: string, tensors: Map<string, Tensor> | Record<string, Tensor>): void {
  const entries: Entry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [key, t] of list) {
    const data = t.contiguous().data();
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ key, dtype: t.dtype, shape: t.shape, offset, nbytes: b.byteLength });
    chunks.push(b);
    offset += b.byteLength;
  }
  writeFileSync(join(dir, `${name}.bin`), Buffer.concat(chunks));
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(entries));
}

/** Reads tensors written by save_tensors, in their order. The caller owns them. */
export function readTensors(dir: string, name: string): Map<string, Tensor> {
  const entries = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Entry[];
  const raw = readFileSync(join(dir, `${name}.bin`));
  const out = new Map<string, Tensor>();
  for (const e of entries) {
    const bytes = raw.buffer.slice(raw.byteOffset + e.offset, raw.byteOffset + e.offset + e.nbytes);
    let view: ArrayBufferView;
    switch (e.dtype) {
      case 'float32': view = new Float32Array(bytes); break;
      case 'float64': view = new Float64Array(bytes); break;
      case 'int64': view = new BigInt64Array(bytes); break;
      case 'int32': view = new Int32Array(bytes); break;
      case 'uint8': view = new Uint8Array(bytes); break;
      default: throw new TypeError(`unsupported dtype ${e.dtype}`);
    }
    out.set(e.key, tensor(view, { shape: e.shape }));
  }
  return out;
}

/** The largest |a − b| over two tensors of the same shape. */
export function maxDiff(a: Tensor, b: Tensor): number {
  if (JSON.stringify(a.shape) !== JSON.stringify(b.shape)) {
    throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  const x = a.toFlatArray();
  const y = b.toFlatArray();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (Number.isNaN(d)) return Infinity;
    if (d > m) m = d;
  }
  return m;
}

/** The largest |x| of a tensor (for relative tolerances). */
export function maxAbs(a: Tensor): number {
  let m = 0;
  for (const v of a.toFlatArray()) m = Math.max(m, Math.abs(v));
  return m;
}
