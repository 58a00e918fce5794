// safetensors, checked against the format spec from both sides: Python writes a file by hand
// (struct + json, as the spec describes it; Debian has no safetensors package) for robusta to read,
// and parses robusta's files by hand and rebuilds the tensors with torch.frombuffer. Malformed headers
// must each give a CheckpointError with the right code.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispose, manualSeed, randint, randn, tensor, tidy, type Tensor } from '@robusta/torch';
import {
  CheckpointError, encodeSafetensors, loadSafetensors, loadStateDict, readSafetensorsHeader, saveSafetensors,
} from '../../src/io/index.js';
import { python, skipWithoutTorch as skip, tempDir, tensorInfo, type TensorInfo } from './helpers.js';

const { dir, cleanup } = tempDir('st');
after(cleanup);

interface PyResult {
  written: Record<string, TensorInfo>;
  read: {
    header_len: number; padding_ok: boolean; metadata: Record<string, string>; order: string[];
    entries: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    infos: Record<string, TensorInfo>; covered: boolean;
  };
}
let cached: { py: PyResult; want: Record<string, TensorInfo> } | undefined;

function robustaTensors(): Map<string, Tensor> {
  manualSeed(2);
  return new Map<string, Tensor>([
    ['conv.weight', randn([4, 3, 3, 3])],
    ['fc.bias', randn([5], { dtype: 'float64' })],
    ['half', randn([3]).to('float16')],
    ['brain', randn([2, 2]).to('bfloat16')],
    ['count', tensor(new BigInt64Array([7n]))],
    ['idx', randint(-5, 5, [6], { dtype: 'int32' })],
    ['short', randint(-5, 5, [2], { dtype: 'int16' })],
    ['byte', randint(0, 255, [3], { dtype: 'uint8' })],
    ['sbyte', randint(-100, 100, [3], { dtype: 'int8' })],
    ['mask', randn([5]).gt(0)],
    ['0', randn([1])], // an integer-like name must not reorder the header
    ['scalar', tensor(2.5).reshape([])],
    ['empty', randn([0])],
  ]);
}

/** robusta's file and Python's hand-written one, both read by the other side (one Python run, made once). */
function exchanged(): { py: PyResult; want: Record<string, TensorInfo> } {
  if (cached) return cached;
  const want = tidy(() => {
    const ts = robustaTensors();
    saveSafetensors(join(dir, 'robusta.safetensors'), ts, { format: 'pt', note: 'written by robusta' });
    return Object.fromEntries([...ts].map(([k, t]) => [k, tensorInfo(t)])) as Record<string, TensorInfo>;
  });
  const py = python<PyResult>(dir, `
CODES = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
         'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
NAMES = {v: k for k, v in CODES.items()}
# Write a file by hand, exactly as the spec says.
torch.manual_seed(3)
ts = {'w': torch.randn(3, 4), 'b': torch.randn(4, dtype=torch.float64), 'h': torch.randn(5).half(), 'bf': torch.randn(2, 3).bfloat16(),
      'n': torch.tensor([1, -2, 2**40]), 'm': torch.tensor([True, False, True]), 'u': torch.arange(4, dtype=torch.uint8), 's': torch.tensor(1.5)}
header, blobs, off = {'__metadata__': {'format': 'pt', 'epoch': '3'}}, [], 0
for k, t in ts.items():
    b = raw(t)
    header[k] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
    blobs.append(b); off += len(b)
hj = json.dumps(header).encode()
hj += b' ' * (-len(hj) % 8)
open(P('python.safetensors'), 'wb').write(struct.pack('<Q', len(hj)) + hj + b''.join(blobs))

# Parse robusta's file by hand.
data = open(P('robusta.safetensors'), 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
text = data[8:8 + n].decode()
hdr = json.loads(text)
buf = data[8 + n:]
meta = hdr.pop('__metadata__', {})
order = list(hdr.keys())
spans = sorted(e['data_offsets'] for e in hdr.values())
covered = spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:])) and spans[-1][1] == len(buf)
def rebuild(e):
    a, b = e['data_offsets']
    dt = CODES[e['dtype']]
    if a == b: return torch.zeros(e['shape'], dtype=dt)
    return torch.frombuffer(bytearray(buf[a:b]), dtype=dt).reshape(e['shape'])
OUTPUT = {'written': infos(ts), 'read': {
  'header_len': n, 'padding_ok': (8 + n) % 8 == 0 and text == text.rstrip() + ' ' * (len(text) - len(text.rstrip())),
  'metadata': meta, 'order': order, 'entries': hdr, 'infos': {k: info(rebuild(e)) for k, e in hdr.items()}, 'covered': covered}}
`);
  cached = { py, want };
  return cached;
}

test('robusta reads a safetensors file written by hand in Python', { skip }, () => {
  const { py } = exchanged();
  const { tensors, metadata } = loadSafetensors(join(dir, 'python.safetensors'));
  assert.deepEqual(metadata, { format: 'pt', epoch: '3' });
  assert.deepEqual(new Set(tensors.keys()), new Set(Object.keys(py.written)));
  for (const [k, w] of Object.entries(py.written)) {
    const g = tensorInfo(tensors.get(k)!);
    assert.equal(g.dtype, w.dtype, `${k}: dtype`);
    assert.deepEqual(g.shape, w.shape, `${k}: shape`);
    assert.equal(g.sha, w.sha, `${k}: values`);
  }
  dispose(tensors);
  // loadStateDict takes safetensors files too.
  const sd = loadStateDict(join(dir, 'python.safetensors'));
  assert.equal(sd.size, Object.keys(py.written).length);
  dispose(sd);
});

test('robusta writes safetensors as the spec says: padded header, ordered, tiled buffer, exact values', { skip }, () => {
  const { py, want } = exchanged();
  const r = py.read;
  assert.ok(r.header_len % 8 === 0 && r.padding_ok, 'the header is padded with spaces to 8 bytes');
  assert.ok(r.covered, 'the tensors tile the data buffer');
  assert.deepEqual(r.metadata, { format: 'pt', note: 'written by robusta' });
  assert.equal(r.entries.idx!.dtype, 'I32');
  assert.equal(r.entries.brain!.dtype, 'BF16');
  assert.equal(r.entries.mask!.dtype, 'BOOL');
  // Larger elements first (alignment), then by name; integer-like names stay in place.
  const sizes = r.order.map((k) => ({ F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2 } as Record<string, number>)[r.entries[k]!.dtype] ?? 1);
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
  for (const [k, w] of Object.entries(want)) {
    const g = r.infos[k]!;
    assert.equal(g.dtype, w.dtype, `${k}: dtype`);
    assert.deepEqual(g.shape, w.shape, `${k}: shape`);
    assert.equal(g.sha, w.sha, `${k}: values`);
  }
  // Round trip in robusta, and the header alone.
  const back = loadSafetensors(join(dir, 'robusta.safetensors'));
  for (const [k, w] of Object.entries(want)) assert.equal(tensorInfo(back.tensors.get(k)!).sha, w.sha);
  dispose(back.tensors);
  const header = readSafetensorsHeader(readFileSync(join(dir, 'robusta.safetensors')));
  assert.equal(header.entries.length, Object.keys(want).length);
  assert.equal(header.dataStart, 8 + r.header_len);
});

/** A safetensors file from a header object and a data buffer. */
function craft(header: unknown, data: Uint8Array, opts: { rawHeader?: string; declaredLength?: bigint } = {}): Uint8Array {
  const json = new TextEncoder().encode(opts.rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('malformed safetensors headers give CheckpointErrors with precise codes', () => {
  const eight = new Uint8Array(8);
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const good = loadSafetensors(craft(ok, eight));
  assert.deepEqual(good.tensors.get('a')!.tolist(), [0, 0]);
  dispose(good.tensors);
  const cases: [string, Uint8Array, string, RegExp][] = [
    ['gap', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight), 'corrupt', /starts at 4/],
    ['overlap', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight), 'corrupt', /gap or overlap/],
    ['left over', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, eight), 'corrupt', /cover 4 bytes of a 8/],
    ['size mismatch', craft({ a: { dtype: 'F64', shape: [2], data_offsets: [0, 8] } }, eight), 'corrupt', /needs 16 bytes/],
    ['past the end', craft({ a: { dtype: 'U8', shape: [16], data_offsets: [0, 16] } }, eight), 'out-of-bounds', /ends at 16/],
    ['huge shape', craft({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, eight), 'corrupt', /needs/],
    ['negative shape', craft({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, eight), 'corrupt', /invalid shape/],
    ['unknown dtype', craft({ a: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, eight), 'corrupt', /unknown dtype 'F33'/],
    ['unrepresentable dtype', craft({ a: { dtype: 'U32', shape: [2], data_offsets: [0, 8] } }, eight), 'unsupported', /U32/],
    ['bad offsets', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, eight), 'corrupt', /data_offsets/],
    ['metadata not strings', craft({ __metadata__: { epoch: 3 }, ...ok }, eight), 'corrupt', /__metadata__/],
    ['not JSON', craft(null, eight, { rawHeader: '{"a": ' }), 'corrupt', /not valid UTF-8 JSON/],
    ['header is an array', craft(null, eight, { rawHeader: '[1, 2]   ' }), 'corrupt', /not a JSON object/],
    ['header too long', craft(ok, eight, { declaredLength: 2n ** 40n }), 'corrupt', /exceeds/],
    ['header past the end', craft(ok, eight, { declaredLength: 1000n }), 'truncated', /runs past the end/],
    ['too short', new Uint8Array(5), 'truncated', /cannot hold/],
  ];
  for (const [name, bytes, code, message] of cases) {
    assert.throws(() => loadSafetensors(bytes), (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `${name}: ${String(e)}`);
      assert.equal(e.code, code, `${name}: ${e.message}`);
      assert.match(e.message, message, name);
      return true;
    });
  }
  assert.throws(() => encodeSafetensors({ __metadata__: tensor([1]) }), TypeError);
  assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), (e: unknown) => e instanceof CheckpointError && e.code === 'not-found');
});
