// Each layer computes what its PyTorch counterpart computes on the same weights and inputs,
// including BatchNorm's running-statistics update, and a small model's gradients match PyTorch's.
import test from 'node:test';
import assert from 'node:assert/strict';
import { F, manualSeed, noGrad, rand, randn, tensor, type Tensor, tidy } from '@robusta/torch';
import { pyTorchSkip, maxAbsDiff, runPython, type PyTensor } from '@robusta/torch/testing';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, GELU, Identity, LeakyReLU, Linear, MaxPool2d,
  type Module, Normalize, ReLU, Sequential, SiLU, Sigmoid, Softplus, Tanh,
} from '../../src/nn/index.js';
import { once } from './support/python.js';

const skip = pyTorchSkip();

const stateOf = (m: Module): Record<string, Tensor> => Object.fromEntries(m.stateDict());

manualSeed(7);
// Layers and inputs built once; their weights and inputs go to PyTorch as JSON.
const conv = new Conv2d(3, 6, 3, { stride: 2, padding: 1 });
const convGrouped = new Conv2d(4, 6, [3, 2], { dilation: 2, groups: 2, bias: false, padding: [2, 1] });
const linear = new Linear(7, 5);
const linearNoBias = new Linear(7, 5, { bias: false });
const xConv = rand([2, 3, 9, 9]);
const xGrouped = rand([2, 4, 10, 10]);
const xLinear = randn([3, 7]);
const xBn = [0, 1, 2].map((i) => randn([4, 4, 3, 5]).mul(1 + i).add(i * 0.5));
const xAct = randn([2, 3, 4, 4]).mul(4);
const xPool = randn([2, 3, 9, 9]);
const xGrad = rand([4, 3, 8, 8]);
const yGrad = tensor([0, 3, 1, 4], { dtype: 'int64' });
const presetMean = randn([4]);
const presetVar = rand([4]).add(0.5);
const small = (): Sequential => new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(64, 5));
const net = small();

const SCRIPT = `
import torch.nn as nn
import torch.nn.functional as F
def load(m, sd):
    m.load_state_dict({k: T(v) for k, v in sd.items()})
    return m
I = INPUT
out = {}
c = load(nn.Conv2d(3, 6, 3, stride=2, padding=1), I['conv'])
out['conv'] = c(T(I['xConv']))
c = load(nn.Conv2d(4, 6, (3, 2), dilation=2, groups=2, bias=False, padding=(2, 1)), I['convGrouped'])
out['convGrouped'] = c(T(I['xGrouped']))
out['linear'] = load(nn.Linear(7, 5), I['linear'])(T(I['xLinear']))
out['linearNoBias'] = load(nn.Linear(7, 5, bias=False), I['linearNoBias'])(T(I['xLinear']))
for name, kw in [('bn', {}), ('bnCumulative', {'momentum': None})]:
    bn = nn.BatchNorm2d(4, **kw)
    for x in I['xBn']:
        y = bn(T(x))
    out[name] = y
    out[name + 'Mean'] = bn.running_mean
    out[name + 'Var'] = bn.running_var
    out[name + 'Count'] = bn.num_batches_tracked
    bn.eval()
    out[name + 'Eval'] = bn(T(I['xBn'][0]))
bn = nn.BatchNorm2d(4, track_running_stats=False).eval()
out['bnUntracked'] = bn(T(I['xBn'][1]))
bn = nn.BatchNorm2d(4, eps=1e-3).eval()
bn.running_mean.copy_(T(I['presetMean'])); bn.running_var.copy_(T(I['presetVar']))
out['bnPreset'] = bn(T(I['xBn'][2]))
x = T(I['xAct'])
out['relu'] = F.relu(x); out['leaky'] = F.leaky_relu(x, 0.2); out['softplus'] = F.softplus(x, beta=2, threshold=5)
out['gelu'] = F.gelu(x); out['geluTanh'] = F.gelu(x, approximate='tanh'); out['silu'] = F.silu(x)
out['tanh'] = torch.tanh(x); out['sigmoid'] = torch.sigmoid(x)
x = T(I['xPool'])
out['maxPool'] = nn.MaxPool2d(3, stride=2, padding=1)(x)
out['maxPoolCeil'] = nn.MaxPool2d(2, ceil_mode=True)(x)
out['avgPool'] = nn.AvgPool2d(2)(x)
out['avgPoolNoPad'] = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)(x)
out['adaptive'] = nn.AdaptiveAvgPool2d(4)(x)
out['flatten'] = nn.Flatten()(x)
out['flatten01'] = nn.Flatten(0, 1)(x)
mean, std = [0.4914, 0.4822, 0.4465], [0.2471, 0.2435, 0.2616]
out['normalize'] = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5))
load(net, I['net'])
xg = T(I['xGrad']).requires_grad_(True)
loss = F.cross_entropy(net(xg), T(I['yGrad']))
loss.backward()
out['loss'] = loss
out['inputGrad'] = xg.grad
for k, p in net.named_parameters():
    out['grad.' + k] = p.grad
out['netRunningMean'] = net[1].running_mean
OUTPUT = out
`;

const reference = once(() => runPython<Record<string, PyTensor>>(SCRIPT, {
  conv: stateOf(conv), convGrouped: stateOf(convGrouped), linear: stateOf(linear), linearNoBias: stateOf(linearNoBias),
  xConv, xGrouped, xLinear, xBn, xAct, xPool, xGrad, yGrad, presetMean, presetVar, net: stateOf(net),
}));

function close(actual: Tensor, key: string, tol = 1e-5): void {
  const expected = reference()[key];
  assert.ok(expected, `no reference output '${key}'`);
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${key}: max |diff| ${d} > ${tol}`);
}

test('Conv2d (stride, padding, dilation, groups, no bias) and Linear equal PyTorch', { skip }, () => tidy(() => {
  close(conv.call(xConv), 'conv');
  close(convGrouped.call(xGrouped), 'convGrouped');
  close(linear.call(xLinear), 'linear');
  close(linearNoBias.call(xLinear), 'linearNoBias');
  assert.equal(convGrouped.bias, null);
  assert.deepEqual(convGrouped.weight.shape, [6, 2, 3, 2]);
}));

test('BatchNorm2d training updates running mean/var and num_batches_tracked like PyTorch', { skip }, () => tidy(() => {
  for (const [name, momentum] of [['bn', 0.1], ['bnCumulative', null]] as const) {
    const bn = new BatchNorm2d(4, { momentum });
    let y: Tensor | undefined;
    for (const x of xBn) y = bn.call(x);
    close(y!, name);
    close(bn.runningMean!, `${name}Mean`);
    close(bn.runningVar!, `${name}Var`);
    assert.equal(bn.numBatchesTracked!.dtype, 'int64');
    assert.equal(bn.numBatchesTracked!.item(), 3);
    assert.equal(reference()[`${name}Count`]!.data[0], 3);
    bn.eval();
    close(bn.call(xBn[0]!), `${name}Eval`);
    assert.equal(bn.numBatchesTracked!.item(), 3, 'eval mode does not count batches');
    bn.dispose();
  }
  const untracked = new BatchNorm2d(4, { trackRunningStats: false }).eval();
  assert.equal(untracked.runningMean, null);
  assert.deepEqual([...untracked.stateDictShapes().keys()], ['weight', 'bias']);
  close(untracked.call(xBn[1]!), 'bnUntracked');
  const preset = new BatchNorm2d(4, { eps: 1e-3 }).eval();
  noGrad(() => {
    preset.runningMean!.copy_(presetMean);
    preset.runningVar!.copy_(presetVar);
  });
  close(preset.call(xBn[2]!), 'bnPreset');
  assert.throws(() => preset.call(xLinear), /4-d input/);
}));

test('activations equal PyTorch', { skip }, () => tidy(() => {
  const cases: [Module, string][] = [
    [new ReLU(), 'relu'], [new LeakyReLU(0.2), 'leaky'], [new Softplus(2, 5), 'softplus'], [new GELU(), 'gelu'],
    [new GELU('tanh'), 'geluTanh'], [new SiLU(), 'silu'], [new Tanh(), 'tanh'], [new Sigmoid(), 'sigmoid'],
  ];
  for (const [m, key] of cases) close(m.call(xAct), key);
}));

test('pooling, flattening and Normalize equal PyTorch', { skip }, () => tidy(() => {
  close(new MaxPool2d(3, { stride: 2, padding: 1 }).call(xPool), 'maxPool');
  close(new MaxPool2d(2, { ceilMode: true }).call(xPool), 'maxPoolCeil');
  close(new AvgPool2d(2).call(xPool), 'avgPool');
  close(new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).call(xPool), 'avgPoolNoPad');
  close(new AdaptiveAvgPool2d(4).call(xPool), 'adaptive');
  close(new Flatten().call(xPool), 'flatten');
  close(new Flatten(0, 1).call(xPool), 'flatten01');
  close(new Normalize([0.4914, 0.4822, 0.4465], [0.2471, 0.2435, 0.2616]).call(xPool), 'normalize');
  assert.equal(new Identity().call(xPool), xPool);
}));

test('gradients of a conv-BN-pool-linear model equal PyTorch (parameters and input)', { skip }, () => tidy(() => {
  const xg = xGrad.clone().requiresGrad_(true);
  const loss = F.crossEntropy(net.call(xg), yGrad);
  loss.backward();
  close(loss, 'loss');
  close(xg.grad!, 'inputGrad');
  for (const [k, p] of net.namedParameters()) close(p.grad!, `grad.${k}`);
  close((net.at(1) as BatchNorm2d).runningMean!, 'netRunningMean');
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
}));

test('Dropout zeroes a fraction p and rescales the rest in training, passes through in eval', () => tidy(() => {
  const d = new Dropout(0.3);
  const x = tensor(new Float32Array(20000).fill(1), { shape: [20000] });
  const y = d.call(x).toFlatArray();
  const zeros = y.filter((v) => v === 0).length / y.length;
  assert.ok(Math.abs(zeros - 0.3) < 0.02, `dropped fraction ${zeros}`);
  assert.ok(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  d.eval();
  assert.deepEqual(d.call(x).toFlatArray(), x.toFlatArray());
  assert.throws(() => new Dropout(1.5), RangeError);
}));

test('layers reject bad sizes and inputs with clear errors', () => tidy(() => {
  assert.throws(() => new Conv2d(3, 8, 0), /kernelSize must be an integer >= 1/);
  assert.throws(() => new Conv2d(3, 8, 3, { groups: 2 }), /divisible by groups/);
  assert.throws(() => new Linear(0, 3), RangeError);
  assert.throws(() => linear.call(xConv), /Linear\(7, 5\) expects input \[\.\.\., 7\], got \[2, 3, 9, 9\]/);
  assert.throws(() => conv.call(xGrouped), /Conv2d\(3, 6\) expects input \[N, 3, H, W\]/);
  assert.throws(() => new BatchNorm2d(4, { momentum: 2 }), RangeError);
  assert.throws(() => new Normalize([0.5, 0.5], [0.5]), RangeError);
  assert.throws(() => new Normalize([0.5], [0]), /std values must be > 0/);
  assert.throws(() => new Normalize([0.5, 0.5, 0.5], [1, 1, 1]).call(xGrouped), /expects input \[N, 3, H, W\]/);
}));
