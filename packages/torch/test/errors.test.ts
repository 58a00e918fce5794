// Errors, not crashes: every kind of bad input comes back as a JS exception and the process survives.
import test from 'node:test';
import assert from 'node:assert/strict';
import { callOp, cuda, F, ones, rand, tensor, TorchError, zeros, Tensor } from '../src/index.js';

test('libtorch errors become TorchError with libtorch\'s message', () => {
  const a = ones([2, 3]);
  assert.throws(() => a.matmul(ones([2, 3])), (e: Error) => e instanceof TorchError && /cannot be multiplied/.test(e.message));
  assert.throws(() => a.add(ones([4])), (e: Error) => e instanceof TorchError && /size of tensor a \(3\)/.test(e.message));
  assert.throws(() => a.view(5), TorchError);
  assert.throws(() => a.select(0, 5), /out of range/);
  assert.throws(() => a.indexSelect(0, tensor([7], { dtype: 'int64' })), /out of range|index/i);
  assert.throws(() => a.indexSelect(0, tensor([0.5])), /Long|Int|dtype|Index/i);
  assert.throws(() => F.crossEntropy(rand([2, 3]), tensor([0, 5], { dtype: 'int64' })), /out of bounds|Target/i);
  assert.throws(() => F.conv2d(rand([1, 2, 4, 4]), rand([3, 3, 3, 3])), /channels/);
  assert.throws(() => ones([2], { dtype: 'int64' }).requiresGrad_(), /floating point|requires_grad/i);
  assert.throws(() => ones([2]).sqrt_().add(ones([2]).requiresGrad_()).backward(), /scalar/i);
});

test('device errors: an unknown device, a CUDA index no machine has', () => {
  assert.throws(() => ones([2]).to('tpu' as 'cpu'), /dtype|device/);
  assert.throws(() => ones([2], { device: 'cuda:4095' }), TorchError);
  assert.throws(() => ones([2]).to('cuda:4095'), TorchError);
});

test('device errors: without CUDA, cuda tensors are refused', { skip: cuda.isAvailable() && 'a CUDA device is present' }, () => {
  assert.throws(() => ones([2], { device: 'cuda' }), TorchError);
  assert.throws(() => ones([2]).to('cuda:0'), TorchError);
});

test('wrong JS argument types are TypeErrors', () => {
  const a = ones([2]);
  assert.throws(() => a.add('x' as unknown as number), TypeError);
  assert.throws(() => a.add({} as unknown as Tensor), TypeError);
  assert.throws(() => a.reshape(1.5), TypeError);
  assert.throws(() => F.dropout(a, 2), RangeError);
  assert.throws(() => F.crossEntropy(rand([2, 3]), tensor([0, 1], { dtype: 'int64' }), { reduction: 'avg' as 'mean' }), TypeError);
  assert.throws(() => callOp('aten::no_such_op', []), /not found/);
  assert.throws(() => callOp('aten::add.Tensor', [a]), /missing argument 'other'/);
});

test('a disposed tensor throws on use, dispose is idempotent', () => {
  const a = zeros([3]);
  a.dispose();
  a.dispose();
  assert.equal(a.isDisposed, true);
  assert.throws(() => a.shape, /disposed/);
  assert.throws(() => a.add(1), /disposed/);
  assert.throws(() => ones([3]).add(a), /disposed/);
});

test('NaN and Infinity pass through as values, not errors', () => {
  const t = tensor([NaN, Infinity, -Infinity, 1]);
  assert.deepEqual(t.isnan().toFlatArray(), [1, 0, 0, 0]);
  assert.equal(t.isfinite().sum().item(), 1);
});

test('the process is still alive and computing after all of that', () => {
  assert.equal(ones([2, 2]).sum().item(), 4);
});
