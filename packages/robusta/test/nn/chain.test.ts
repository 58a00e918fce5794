// chain() and Sequential free each intermediate once the next layer has consumed it (as Python's
// reference counting does), leave the input and the result alone, and change no value or gradient.
import test from 'node:test';
import assert from 'node:assert/strict';
import { autograd, F, keep, manualSeed, rand, type Tensor, tensorsNotDisposed, tidy } from '@robusta/torch';
import { chain, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../../src/nn/index.js';

function smallNet(): Sequential {
  manualSeed(3);
  return new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 4 * 4, 5));
}

test('Sequential: a layer\'s output is freed once the next layer consumed it; the input and the result survive', () => {
  const net = smallNet();
  const x = rand([2, 3, 8, 8]);
  const outputs: Tensor[] = [];
  const freedTwoBack: boolean[] = [];
  for (const layer of net.children()) {
    layer.registerForwardHook((_m, input, output) => {
      // The layer before the previous one: its output was consumed by the previous layer.
      if (outputs.length >= 2) freedTwoBack.push(outputs[outputs.length - 2]!.isDisposed);
      // The input of this layer is still alive while its hooks run.
      assert.equal(input.isDisposed, false);
      outputs.push(output);
    });
  }
  const before = tensorsNotDisposed();
  const y = tidy(() => net.forward(x));
  assert.deepEqual(freedTwoBack, [true, true, true]);
  assert.equal(x.isDisposed, false, 'the input is the caller\'s');
  assert.equal(y.isDisposed, false);
  assert.equal(tensorsNotDisposed(), before + 1, 'only the result survives');
  y.dispose();
  x.dispose();
  net.dispose();
});

test('chain: same values and gradients as nested calls; a kept output, an outer tensor and null steps are left alone', () => {
  const net = smallNet();
  const layers = net.children();
  const x = rand([2, 3, 8, 8]).requiresGrad_();
  // The output and d(Σ out²)/dx: the gradient needs every tensor autograd saved, released or not.
  const grads = (f: () => Tensor): number[] => tidy(() => {
    const out = f();
    const [g] = autograd.grad(out.square().sum(), x);
    return [...out.toFlatArray(), ...g!.toFlatArray()];
  });
  const nested = grads(() => layers[4]!.call(layers[3]!.call(layers[2]!.call(layers[1]!.call(layers[0]!.call(x))))));
  const chained = grads(() => chain(x, ...layers));
  assert.deepEqual(chained, nested);

  tidy(() => {
    let kept: Tensor | null = null;
    const outer = rand([2, 4, 8, 8]);
    // outer passes through the chain as an intermediate: chain calls release() on it, which must leave it.
    const out = tidy(() => chain(x, layers[0]!, (t) => { kept = keep(F.relu(t)); return kept; }, null, () => outer, (t) => t.add(1),
      layers[2]!));
    assert.equal(kept!.isDisposed, false, 'a kept intermediate is the keeper\'s');
    assert.equal(outer.isDisposed, false, 'a tensor of an outer scope is not released');
    assert.deepEqual(out.shape, [2, 4, 4, 4]);
    kept!.dispose();
  });
  x.dispose();
  net.dispose();
});
