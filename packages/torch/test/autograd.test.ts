// Autograd: backward with a gradient argument, accumulation, autograd.grad with create_graph (double
// backward), grad modes, detach; batch norm running statistics in train mode; seeded randomness
// identical to PyTorch's generator (same libtorch).
import test from 'node:test';
import assert from 'node:assert/strict';
import { pyTorchSkip, runPython, maxAbsDiff, type PyTensor } from '../src/testing/pyref.js';
import {
  autograd, F, manualSeed, noGrad, enableGrad, isGradEnabled, ones, rand, randn, randint, randperm, tensor, tidy, zeros,
  getRngState, setRngState,
} from '../src/index.js';

const skip = pyTorchSkip();

test('backward with a gradient argument accumulates into .grad', { skip }, () => {
  manualSeed(7);
  const x = randn([3, 4]).requiresGrad_();
  const g = randn([3, 4]);
  const y = x.mul(x).mul(3);
  y.backward(g, { retainGraph: true });
  y.backward(g); // accumulates: 2 × 6x·g
  const py = runPython<PyTensor>(`
x = T(INPUT['x'], requires_grad=True); g = T(INPUT['g'])
y = x * x * 3
y.backward(g, retain_graph=True); y.backward(g)
OUTPUT = x.grad`, { x, g });
  assert.ok(maxAbsDiff(x.grad!, py) < 1e-5);
  assert.match(y.gradFn!, /^MulBackward/);
  assert.ok(x.isLeaf && !y.isLeaf);
  x.grad = null;
  assert.equal(x.grad, null);
});

test('autograd.grad with createGraph gives second derivatives (double backward) as PyTorch', { skip }, () => {
  manualSeed(3);
  const x = randn([5]).requiresGrad_();
  const w = randn([5, 5]);
  // f(x) = sum(tanh(W x)^2); gradient-norm penalty needs d/dx ||∇f||²
  const f = x.matmul(w.t()).tanh().square().sum();
  const [gx] = autograd.grad(f, x, { createGraph: true });
  const penalty = gx!.square().sum();
  const [ggx] = autograd.grad(penalty, x);
  const py = runPython<PyTensor[]>(`
x = T(INPUT['x'], requires_grad=True); w = T(INPUT['w'])
f = (x @ w.t()).tanh().square().sum()
gx, = torch.autograd.grad(f, x, create_graph=True)
ggx, = torch.autograd.grad(gx.square().sum(), x)
OUTPUT = [gx, ggx]`, { x, w });
  assert.ok(maxAbsDiff(gx!, py[0]!) < 1e-5);
  assert.ok(maxAbsDiff(ggx!, py[1]!) < 1e-4);
});

test('autograd.grad: unused inputs, gradOutputs, and errors', () => {
  const a = ones([2]).requiresGrad_();
  const b = ones([2]).requiresGrad_();
  const y = a.mul(2);
  assert.throws(() => autograd.grad(y.sum(), [a, b]), /not have been used|unused/i);
  const [ga, gb] = autograd.grad(y, [a, b], { gradOutputs: [tensor([1, 10])], allowUnused: true });
  assert.deepEqual(ga!.tolist(), [2, 20]);
  assert.equal(gb, null);
  // a graph is freed after backward unless retained
  const z = a.mul(a).sum();
  z.backward();
  assert.throws(() => z.backward(), /second time|freed/i);
  assert.throws(() => a.mul(2).backward(), /scalar|implicitly/i);
});

test('noGrad / enableGrad scopes restore the mode, detach cuts the graph', () => {
  const x = ones([2]).requiresGrad_();
  assert.equal(isGradEnabled(), true);
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    const inner = enableGrad(() => x.mul(2));
    assert.equal(inner.requiresGrad, true);
    return x.mul(2);
  });
  assert.equal(isGradEnabled(), true);
  assert.equal(y.requiresGrad, false);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(isGradEnabled(), true, 'mode restored after an exception');
  assert.equal(x.mul(3).detach().requiresGrad, false);
});

test('batch norm in training mode updates running statistics like PyTorch', { skip }, () => {
  manualSeed(11);
  const x = randn([8, 3, 5, 5]);
  const rm = zeros([3]);
  const rv = ones([3]);
  const w = rand([3]);
  const b = randn([3]);
  const y = F.batchNorm(x, rm, rv, { weight: w, bias: b, training: true, momentum: 0.2 });
  const py = runPython<PyTensor[]>(`
x = T(INPUT['x']); rm = torch.zeros(3); rv = torch.ones(3)
y = F.batch_norm(x, rm, rv, T(INPUT['w']), T(INPUT['b']), training=True, momentum=0.2)
OUTPUT = [y, rm, rv]`.replace('F.batch_norm', 'torch.nn.functional.batch_norm'), { x, w, b });
  assert.ok(maxAbsDiff(y, py[0]!) < 1e-5);
  assert.ok(maxAbsDiff(rm, py[1]!) < 1e-6);
  assert.ok(maxAbsDiff(rv, py[2]!) < 1e-6);
});

test('seeded random numbers equal PyTorch\'s (same generator), and RNG state round-trips', { skip }, () => {
  manualSeed(42);
  const r = rand([5]);
  const n = randn([2, 3]);
  const i = randint(0, 10, [6]);
  const p = randperm(7);
  const d = F.dropout(ones([10]), 0.5, true);
  const py = runPython<PyTensor[]>(`
torch.manual_seed(42)
OUTPUT = [torch.rand(5), torch.randn(2, 3), torch.randint(0, 10, (6,)), torch.randperm(7), torch.nn.functional.dropout(torch.ones(10), 0.5, True)]`);
  assert.equal(maxAbsDiff(r, py[0]!), 0);
  assert.equal(maxAbsDiff(n, py[1]!), 0);
  assert.equal(maxAbsDiff(i, py[2]!), 0);
  assert.equal(maxAbsDiff(p, py[3]!), 0);
  assert.equal(maxAbsDiff(d, py[4]!), 0);
  const state = getRngState();
  const first = rand([4]).toFlatArray();
  setRngState(state);
  assert.deepEqual(rand([4]).toFlatArray(), first);
});

test('in-place optimizer ops match their definitions', () => {
  tidy(() => {
    const p = tensor([1, 2, 3]);
    p.add_(tensor([1, 1, 1]), 0.5).mul_(2).addcmul_(tensor([1, 2, 3]), tensor([2, 2, 2]), 0.5).addcdiv_(tensor([4, 4, 4]), tensor([2, 4, 8]), -1);
    // ((x+0.5)*2) + 0.5*t1*t2 - t1/t2
    assert.deepEqual(p.toFlatArray(), [3 + 1 - 2, 5 + 2 - 1, 7 + 3 - 0.5]);
    p.clamp_(4, 8).sub_(1).div_(2);
    assert.deepEqual(p.toFlatArray(), [1.5, 2.5, 3.5]);
    p.copy_(tensor([9, 9, 9])).zero_();
    assert.deepEqual(p.toFlatArray(), [0, 0, 0]);
    p.fill_(2).pow_(3).sqrt_();
    assert.ok(Math.abs(p.toFlatArray()[0]! - Math.sqrt(8)) < 1e-6);
  });
});
