// The binding's two call paths (native/ops.cc): ops whose arguments are all Tensors and Scalars and
// that return one Tensor go through the typed kernel (unboxed); the rest through the dispatcher's
// argument stack (boxed). The hot elementwise ops of an attack or an optimizer step must be unboxed:
// the boxed path costs them about a tenth of a tiny op's time.
import test from 'node:test';
import assert from 'node:assert/strict';
import { dispatchStats, tensor, tidy, type Tensor } from '../src/index.js';

/** Calls made by fn, per path, and its result as numbers. */
function calls(fn: () => Tensor): { unboxed: number; boxed: number; values: number[] } {
  const before = dispatchStats();
  const values = tidy(() => fn().toFlatArray());
  const after = dispatchStats();
  // toFlatArray reads the data without an operator call.
  return { unboxed: after.unboxed - before.unboxed, boxed: after.boxed - before.boxed, values };
}

test('the hot elementwise ops take the unboxed path; lists and optional arguments the boxed one, with the same values', () => {
  const a = tensor([1, -2, 3, -4]);
  const b = tensor([2, 2, 2, 2]);
  const unboxed: [string, () => Tensor, number[]][] = [
    ['add', () => a.add(b), [3, 0, 5, -2]],
    ['add with alpha', () => a.add(b, 0.5), [2, -1, 4, -3]],
    ['sub', () => a.sub(b), [-1, -4, 1, -6]],
    ['mul by a scalar', () => a.mul(2), [2, -4, 6, -8]],
    ['mul', () => a.mul(b), [2, -4, 6, -8]],
    ['div', () => a.div(b), [0.5, -1, 1.5, -2]],
    ['neg', () => a.neg(), [-1, 2, -3, 4]],
    ['sign', () => a.sign(), [1, -1, 1, -1]],
  ];
  for (const [name, fn, want] of unboxed) {
    const c = calls(fn);
    assert.deepEqual({ unboxed: c.unboxed, boxed: c.boxed }, { unboxed: 1, boxed: 0 }, `${name}: one unboxed call`);
    assert.deepEqual(c.values, want, name);
  }
  const boxed: [string, () => Tensor, number[]][] = [
    ['clamp (optional Scalars)', () => a.clamp(-1, 1), [1, -1, 1, -1]],
    ['sum over a dim list', () => a.view(2, 2).sum([1]), [-1, -1]],
  ];
  for (const [name, fn, want] of boxed) {
    const c = calls(fn);
    assert.ok(c.boxed >= 1, `${name}: boxed (unboxed ${c.unboxed}, boxed ${c.boxed})`);
    assert.deepEqual(c.values, want, name);
  }
  a.dispose();
  b.dispose();
});

test('a mistyped argument on an unboxed op still gets the boxed path and its clear error', () => {
  const a = tensor([1, 2]);
  assert.throws(() => a.add('x' as unknown as Tensor), /aten::add.Scalar: argument 'other' must be a number or boolean/);
  a.dispose();
});
