// Writing torch.save files that PyTorch reads back: every dtype, non-contiguous and 0-d/empty tensors,
// shared tensors, plain values, a state_dict Map that must arrive as an OrderedDict; the archive's
// alignment and checksums checked with Python's zipfile; ZIP64 forced on; atomic replacement.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arange, dispose, manualSeed, randint, randn, tensor, tidy, type Tensor } from '@robusta/torch';
import { encodeTorchFile, loadTorchFile, saveTorchFile } from '../../src/io/index.js';
import { python, skipWithoutTorch as skip, tempDir, tensorInfo, type TensorInfo } from './helpers.js';

const { dir, cleanup } = tempDir('save');
after(cleanup);

function sampleTensors(): Map<string, Tensor> {
  manualSeed(1);
  const base = randn([4, 6]);
  return new Map<string, Tensor>([
    ['f32', randn([3, 5])],
    ['f64', randn([2, 3], { dtype: 'float64' })],
    ['f16', randn([7]).to('float16')],
    ['bf16', randn([2, 4]).to('bfloat16')],
    ['i64', tensor(new BigInt64Array([-(2n ** 40n), 5n, 2n ** 62n]))],
    ['i32', randint(-1000, 1000, [3, 2], { dtype: 'int32' })],
    ['i16', randint(-30000, 30000, [4], { dtype: 'int16' })],
    ['i8', randint(-128, 127, [6], { dtype: 'int8' })],
    ['u8', randint(0, 255, [2, 2], { dtype: 'uint8' })],
    ['bool', randn([9]).gt(0)],
    ['scalar', tensor(3.25).reshape([])],
    ['empty', randn([0, 3])],
    ['transposed', base.t()],
    ['strided', base.slice(1, 0, null, 2)],
    ['expanded', randn([3, 1]).expand(3, 4)],
  ]);
}

// Both archives are written first and checked by one Python run (starting PyTorch takes seconds).
interface PyView {
  type: string; sd_type: string; keys: string[]; infos: Record<string, TensorInfo>; values: Record<string, unknown>;
  shared_same: boolean; grad: boolean; zip: { bad: string | null; aligned: boolean; names: string[] }; has_skipped: boolean;
  zip64: { shas: Record<string, string>; found: boolean };
}
const path = join(dir, 'robusta.pt');
const path64 = join(dir, 'zip64.pt');
let cached: { py: PyView; want: Record<string, TensorInfo> } | undefined;

/** Writes both archives and reads them in one Python run (made once, by the first test that needs it). */
function written(): { py: PyView; want: Record<string, TensorInfo> } {
  if (cached) return cached;
  const want: Record<string, TensorInfo> = {};
  tidy(() => {
    const sd = sampleTensors();
    const shared = arange(0, 4, 1, { dtype: 'float32' });
    const grad = randn([2]).requiresGrad_();
    for (const [k, t] of sd) want[k] = tensorInfo(t);
    saveTorchFile(path, {
      epoch: 3, lr: 0.5, name: 'résumé', flags: [true, false, null], big: 2n ** 70n, neg: -7, huge: 2 ** 60,
      state_dict: sd, shared_a: shared, shared_b: shared, grad, skipped: undefined,
    });
    saveTorchFile(path64, sd, { zip64Threshold: 0 });
  });
  const py = python<PyView>(dir, `
ck = torch.load(P('robusta.pt'))
sd = ck['state_dict']
z = zipfile.ZipFile(P('robusta.pt'))
raw_bytes = open(P('robusta.pt'), 'rb').read()
def data_offset(i):
    n, e = struct.unpack('<HH', raw_bytes[i.header_offset + 26:i.header_offset + 30])
    return i.header_offset + 30 + n + e
sd64 = torch.load(P('zip64.pt'))
data64 = open(P('zip64.pt'), 'rb').read()
OUTPUT = {
  'type': type(ck).__name__, 'sd_type': type(sd).__name__, 'keys': list(sd.keys()), 'infos': infos(sd),
  'values': {k: ck[k] for k in ['epoch', 'lr', 'name', 'flags', 'neg']} | {'big': str(ck['big']), 'huge': ck['huge'], 'huge_type': type(ck['huge']).__name__},
  'shared_same': ck['shared_a'] is ck['shared_b'] and ck['shared_a'].tolist() == [0, 1, 2, 3],
  'grad': ck['grad'].requires_grad, 'has_skipped': 'skipped' in ck,
  'zip': {'bad': z.testzip(), 'aligned': all(data_offset(i) % 64 == 0 for i in z.infolist()), 'names': z.namelist()},
  'zip64': {'shas': {k: info(v)['sha'] for k, v in sd64.items()},
            'found': data64.find(b'PK\\x06\\x06') > 0 and zipfile.ZipFile(P('zip64.pt')).testzip() is None},
}
`);
  cached = { py, want };
  return cached;
}

test('robusta writes, torch.load reads identical tensors and values', { skip }, () => {
  const { py, want } = written();
  assert.equal(py.type, 'dict');
  assert.equal(py.sd_type, 'OrderedDict', 'a Map arrives as an OrderedDict');
  assert.deepEqual(py.keys, Object.keys(want));
  for (const [k, w] of Object.entries(want)) {
    const g = py.infos[k]!;
    assert.equal(g.dtype, w.dtype, `${k}: dtype`);
    assert.deepEqual(g.shape, w.shape, `${k}: shape`);
    assert.equal(g.sha, w.sha, `${k}: PyTorch reads different values`);
  }
  assert.deepEqual(py.values, { epoch: 3, lr: 0.5, name: 'résumé', flags: [true, false, null], neg: -7, big: String(2n ** 70n), huge: 2 ** 60, huge_type: 'float' },
    'integers beyond 2^53 are not exact in JS: they go as floats (use bigint for exact ints)');
  assert.ok(py.shared_same, 'one JS tensor saved twice is one Python tensor');
  assert.ok(py.grad, 'requires_grad is kept');
  assert.equal(py.has_skipped, false, 'undefined properties are left out, as in JSON');
  assert.equal(py.zip.bad, null, 'every CRC-32 checks out');
  assert.ok(py.zip.aligned, 'record data starts on 64-byte boundaries, as torch writes it');
  assert.deepEqual(py.zip.names.filter((n) => !n.includes('/data/')), ['archive/data.pkl', 'archive/byteorder', 'archive/version']);

  // And robusta reads its own file back to the same values.
  const back = loadTorchFile(path) as Map<string, unknown>;
  const backSd = back.get('state_dict') as Map<string, Tensor>;
  for (const [k, w] of Object.entries(want)) assert.equal(tensorInfo(backSd.get(k)!).sha, w.sha, `${k} after a robusta round trip`);
  assert.equal(back.get('big'), 2n ** 70n);
  assert.equal(back.get('huge'), 2 ** 60);
  assert.equal(back.get('shared_a'), back.get('shared_b'));
  dispose(back);
});

test('ZIP64 records (forced on a small archive) are read by torch.load, zipfile and robusta', { skip }, () => {
  const { py, want } = written();
  const shas = Object.fromEntries(Object.entries(want).map(([k, w]) => [k, w.sha]));
  assert.ok(py.zip64.found, 'the archive has a ZIP64 end record and valid CRCs');
  assert.deepEqual(py.zip64.shas, shas);
  const back = loadTorchFile(path64) as Map<string, Tensor>;
  assert.deepEqual(Object.fromEntries([...back].map(([k, t]) => [k, tensorInfo(t).sha])), shas);
  dispose(back);
});

test('saving is atomic: a failed save leaves the old file, a good one replaces it, no temp files remain', () => {
  const path = join(dir, 'atomic.pt');
  writeFileSync(path, 'old contents');
  const t = tensor([1, 2, 3]);
  assert.throws(() => saveTorchFile(path, { w: t, bad: () => 1 }), TypeError);
  assert.throws(() => saveTorchFile(path, { w: t, date: new Date() }), /Date/);
  assert.equal(readFileSync(path, 'utf8'), 'old contents');
  saveTorchFile(path, { w: t });
  const back = loadTorchFile(path) as Map<string, Tensor>;
  assert.deepEqual(back.get('w')!.tolist(), [1, 2, 3]);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  assert.throws(() => saveTorchFile(join(dir, 'no-such-dir', 'x.pt'), { w: t }), /cannot write/);
  assert.ok(!existsSync(join(dir, 'no-such-dir')));
  const disposed = tensor([1]);
  disposed.dispose();
  assert.throws(() => encodeTorchFile([disposed]), /disposed/);
  // Cycles survive through the pickle memo, as in Python.
  const cyc: unknown[] = [1];
  cyc.push(cyc);
  const again = loadTorchFile(encodeTorchFile(cyc)) as unknown[];
  assert.equal(again[1], again);
  dispose([back, t]);
});
