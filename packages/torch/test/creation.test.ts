// Creation, dtypes, devices, data access and printing.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  arange, cuda, empty, eye, full, fullLike, libtorchVersion, linspace, ones, onesLike, rand, randLike, randnLike, scalarTensor,
  tensor, zeros, zerosLike, type DType,
} from '../src/index.js';

test('tensor() from nested arrays and typed arrays', () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.tolist(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(tensor([true, false]).dtype, 'bool');
  assert.equal(tensor(new Int32Array([1, 2])).dtype, 'int32');
  assert.equal(tensor(new BigInt64Array([1n, 2n])).dtype, 'int64');
  assert.equal(tensor(new Float64Array([1, 2])).dtype, 'float64');
  const u = tensor(new Uint8Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
  assert.deepEqual(u.shape, [2, 3]);
  assert.equal(u.dtype, 'uint8');
  const view = new Float32Array([0, 1, 2, 3, 4]).subarray(1, 4);
  assert.deepEqual(tensor(view).toFlatArray(), [1, 2, 3]);
  assert.throws(() => tensor([[1, 2], [3]]), RangeError);
  assert.throws(() => tensor(new Float32Array(5), { shape: [2, 2] }), RangeError);
  assert.equal(scalarTensor(3.5).item(), 3.5);
  assert.deepEqual(scalarTensor(2).shape, []);
});

test('every dtype round-trips through its typed array', () => {
  const dtypes: DType[] = ['uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', 'bool', 'bfloat16'];
  for (const d of dtypes) {
    const t = tensor([0, 1, 2, 3], { dtype: d });
    assert.equal(t.dtype, d);
    const expected = d === 'bool' ? [0, 1, 1, 1] : [0, 1, 2, 3];
    assert.deepEqual(t.toFlatArray(), expected, d);
  }
  assert.deepEqual(Array.from(tensor([5, 6], { dtype: 'int64' }).data() as BigInt64Array), [5n, 6n]);
  const f = tensor([1.5, -2], { dtype: 'float32' });
  f.copyFromArray(new Float32Array([7, 8]));
  assert.deepEqual(f.toFlatArray(), [7, 8]);
  assert.throws(() => f.copyFromArray(new Float32Array(3)), RangeError);
});

test('filled, ranged and *_like creation', () => {
  assert.deepEqual(zeros([2, 2]).toFlatArray(), [0, 0, 0, 0]);
  assert.deepEqual(ones([3], { dtype: 'int64' }).toFlatArray(), [1, 1, 1]);
  assert.deepEqual(full([2], 7.5).toFlatArray(), [7.5, 7.5]);
  assert.deepEqual(empty([4, 5]).shape, [4, 5]);
  assert.deepEqual(arange(4).toFlatArray(), [0, 1, 2, 3]);
  assert.equal(arange(4).dtype, 'int64');
  assert.equal(arange(0, 1, 0.25).dtype, 'float32');
  assert.deepEqual(arange(0, 1, 0.25).toFlatArray(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(linspace(0, 1, 5).toFlatArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(eye(2, 3).tolist(), [[1, 0, 0], [0, 1, 0]]);
  const base = rand([2, 3], { dtype: 'float64' });
  for (const t of [zerosLike(base), onesLike(base), fullLike(base, 2), randLike(base), randnLike(base)]) {
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float64');
  }
  assert.equal(zerosLike(base, { dtype: 'int32' }).dtype, 'int32');
  assert.equal(ones([1], { requiresGrad: true }).requiresGrad, true);
  assert.throws(() => zeros([-1]), RangeError);
  assert.throws(() => zeros([2], { dtype: 'complex' as DType }), TypeError);
});

test('metadata, conversion, printing', () => {
  const t = tensor([[1, 2], [3, 4]]);
  assert.equal(t.ndim, 2);
  assert.equal(t.numel(), 4);
  assert.deepEqual(t.stride(), [2, 1]);
  assert.equal(t.device, 'cpu');
  assert.equal(t.size(1), 2);
  const tt = t.t();
  assert.equal(tt.isContiguous(), false);
  assert.ok(tt.sharesStorageWith(t));
  assert.equal(tt.contiguous().isContiguous(), true);
  assert.equal(t.to('float64').dtype, 'float64');
  assert.equal(t.to({ dtype: 'int64', device: 'cpu' }).dtype, 'int64');
  assert.match(t.toString(), /CPUFloatType\{2,2\}/);
  assert.match(libtorchVersion(), /^\d+\.\d+/);
  assert.equal(typeof cuda.isAvailable(), 'boolean');
});

test('CUDA tensors (only where a GPU and a CUDA libtorch are present)', { skip: !cuda.isAvailable() && 'no CUDA device' }, () => {
  const x = rand([64, 64], { device: 'cuda' });
  assert.equal(x.device, 'cuda:0');
  const y = x.matmul(x).cpu();
  const ref = x.cpu().matmul(x.cpu());
  assert.ok(y.sub(ref).abs().max().item() < 1e-3);
  assert.throws(() => x.add(ref), /device/i);
});
