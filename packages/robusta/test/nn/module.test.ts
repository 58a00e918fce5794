// Module bookkeeping: registration order and names, state dicts (PyTorch's keys and order, strict
// and non-strict loading with clear errors), train/eval, dtype moves, gradients, memory.
import test from 'node:test';
import assert from 'node:assert/strict';
import { F, tensorsNotDisposed, ones, randn, type Tensor, tensor, tidy, zeros } from '@robusta/torch';
import {
  BatchNorm2d, Conv2d, Dropout, Flatten, Identity, Linear, Module, Normalize, ReLU, Sequential, StateDictError, stripPrefix,
} from '../../src/nn/index.js';

/** The attacks' view of a model: Module must satisfy it. */
interface Classifier {
  forward(x: Tensor): Tensor;
  readonly training: boolean;
  train(mode?: boolean): unknown;
  eval(): unknown;
}

class Block extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor() {
    super();
    this.registerBuffer('scale', ones([1]), { persistent: false });
    this.conv = this.registerModule('conv', new Conv2d(2, 3, 3, { padding: 1, bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(3));
    this.registerParameter('gate', zeros([3, 1, 1]));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.bn.call(this.conv.call(x)).mul(this.param('gate').add(1)).mul(this.buffer('scale')));
  }
}

class Net extends Module {
  readonly body: Sequential;
  readonly head: Linear;
  constructor() {
    super();
    this.registerParameter('temperature', ones([]));
    this.body = this.registerModule('body', new Sequential(new Block(), new ReLU(), new Dropout(0.5), new Flatten()));
    this.head = this.registerModule('head', new Linear(3 * 4 * 4, 5));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.head.call(this.body.call(x)).div(this.param('temperature')));
  }
}

const NET_KEYS = [
  'temperature', 'body.0.gate', 'body.0.conv.weight', 'body.0.bn.weight', 'body.0.bn.bias', 'body.0.bn.running_mean',
  'body.0.bn.running_var', 'body.0.bn.num_batches_tracked', 'head.weight', 'head.bias',
];

test('names follow PyTorch: own parameters, then buffers, then children; Sequential children 0, 1, ...', () => {
  const net = new Net();
  const classifier: Classifier = net;
  assert.ok(classifier.training);
  assert.deepEqual([...net.stateDictShapes().keys()], NET_KEYS);
  assert.deepEqual(net.namedParameters().map(([k]) => k), ['temperature', 'body.0.gate', 'body.0.conv.weight', 'body.0.bn.weight', 'body.0.bn.bias', 'head.weight', 'head.bias']);
  assert.deepEqual(net.namedBuffers().map(([k]) => k), ['body.0.scale', 'body.0.bn.running_mean', 'body.0.bn.running_var', 'body.0.bn.num_batches_tracked']);
  assert.deepEqual(net.namedModules().map(([k]) => k), ['', 'body', 'body.0', 'body.0.conv', 'body.0.bn', 'body.1', 'body.2', 'body.3', 'head']);
  assert.deepEqual(net.namedChildren().map(([k]) => k), ['body', 'head']);
  assert.equal(net.getSubmodule('body.0.bn'), (net.body.at(0) as Block).bn);
  assert.throws(() => net.getSubmodule('body.7'), /no submodule '7'/);
  assert.equal(net.numParameters(), 1 + 3 + 2 * 3 * 9 + 3 + 3 + 48 * 5 + 5);
  assert.ok(net.parameters().every((p) => p.requiresGrad && p.isLeaf));
  const sd = net.stateDict();
  assert.equal(sd.get('body.0.bn.num_batches_tracked')!.dtype, 'int64');
  assert.ok(!sd.get('head.weight')!.requiresGrad, 'state-dict tensors are detached');
  for (const t of sd.values()) t.dispose();
  assert.ok(!net.head.weight.isDisposed, 'disposing the state dict leaves the parameters alive');
  net.dispose();
});

test('registration rejects duplicate or dotted names and non-leaf parameters', () => {
  class Bad extends Module {
    constructor(kind: string) {
      super();
      this.registerParameter('w', zeros([2]));
      if (kind === 'dup') this.registerBuffer('w', zeros([2]));
      if (kind === 'dot') this.registerModule('a.b', new ReLU());
      if (kind === 'leaf') this.registerParameter('v', zeros([2]).requiresGrad_(true).mul(2));
    }
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  assert.throws(() => new Bad('dup'), /already has a member named 'w'/);
  assert.throws(() => new Bad('dot'), /without '\.'/);
  assert.throws(() => new Bad('leaf'), /must be a leaf tensor/);
});

test('train() and eval() switch the whole tree', () => {
  const net = new Net();
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  net.body.train(false);
  assert.ok(net.training && !net.body.at(2).training && net.head.training);
  net.dispose();
});

test('parameters and buffers survive the tidy() scope the model is built in; dispose() frees them', () => {
  const before = tensorsNotDisposed();
  const net = tidy(() => {
    const n = new Net();
    tidy(() => n.call(randn([2, 2, 4, 4])));
    return n;
  });
  assert.equal(tensorsNotDisposed() - before, 11, 'ten state tensors and the non-persistent buffer');
  assert.ok(net.parameters().every((p) => !p.isDisposed));
  const y = tidy(() => net.eval().call(randn([2, 2, 4, 4])));
  assert.deepEqual(y.shape, [2, 5]);
  y.dispose();
  net.dispose();
  assert.equal(tensorsNotDisposed(), before);
});

test('a state dict round-trips, loads by value and leaves the model\'s tensors in place', () => tidy(() => {
  const a = new Net();
  const b = new Net();
  const weight = b.head.weight;
  const result = b.loadStateDict(a.stateDict());
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(b.head.weight, weight, 'loading copies into the existing tensors');
  const x = randn([2, 2, 4, 4]);
  a.eval();
  b.eval();
  assert.deepEqual(b.call(x).toFlatArray(), a.call(x).toFlatArray());
  // a record works too, and float64 values are cast to the parameter's dtype
  b.loadStateDict({ ...Object.fromEntries(a.stateDict()), 'head.bias': ones([5], { dtype: 'float64' }) });
  assert.equal(b.head.bias!.dtype, 'float32');
  assert.deepEqual(b.head.bias!.toFlatArray(), [1, 1, 1, 1, 1]);
  a.dispose();
  b.dispose();
}));

test('strict loading lists missing and unexpected keys; shape mismatches fail in any mode; nothing is half-loaded', () => tidy(() => {
  const net = new Net();
  const sd = new Net().stateDict();
  sd.delete('head.bias');
  sd.delete('body.0.gate');
  sd.set('head.extra', zeros([1]));
  const before = net.head.weight.clone();
  let err: unknown;
  try {
    net.loadStateDict(sd);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StateDictError);
  assert.deepEqual(err.missingKeys, ['body.0.gate', 'head.bias']);
  assert.deepEqual(err.unexpectedKeys, ['head.extra']);
  assert.match(err.message, /Error\(s\) in loading state_dict for Net:/);
  assert.match(err.message, /Missing key\(s\) in state_dict: "body.0.gate", "head.bias"\./);
  assert.match(err.message, /Unexpected key\(s\) in state_dict: "head.extra"\./);
  assert.deepEqual(net.head.weight.toFlatArray(), before.toFlatArray(), 'a failed load changes nothing');

  const loose = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(loose, { missingKeys: ['body.0.gate', 'head.bias'], unexpectedKeys: ['head.extra'] });
  assert.deepEqual(net.head.weight.toFlatArray(), sd.get('head.weight')!.toFlatArray());

  sd.set('head.weight', zeros([5, 47]));
  assert.throws(() => net.loadStateDict(sd, { strict: false }), (e: unknown) => e instanceof StateDictError &&
    e.sizeMismatches.length === 1 && /size mismatch for head\.weight: copying a param with shape \[5, 47\] from checkpoint, the shape in current model is \[5, 48\]/.test(e.message));
  net.dispose();
}));

test('a checkpoint without num_batches_tracked (old PyTorch) loads strictly, the count reset to 0', () => tidy(() => {
  const net = new Net();
  tidy(() => net.call(randn([2, 2, 4, 4])));
  const bn = (net.body.at(0) as Block).bn;
  assert.equal(bn.numBatchesTracked!.item(), 1);
  const sd = new Net().stateDict();
  sd.delete('body.0.bn.num_batches_tracked');
  assert.deepEqual(net.loadStateDict(sd), { missingKeys: [], unexpectedKeys: [] });
  assert.equal(bn.numBatchesTracked!.item(), 0);
  net.dispose();
}));

test('Normalize keeps its statistics out of the state dict but accepts checkpoints that carry them', () => tidy(() => {
  const makeNet = (): Sequential => new Sequential(new Normalize([0.5, 0.25], [2, 4]), new Conv2d(2, 1, 1));
  const a = makeNet();
  assert.deepEqual([...a.stateDictShapes().keys()], ['1.weight', '1.bias']);
  assert.deepEqual(a.namedBuffers().map(([k]) => k), ['0.mean', '0.std']);
  const b = makeNet();
  // RobustBench-style ([1, C, 1, 1]) and torchattacks-style ([C]) statistics both load.
  const sd = a.stateDict();
  sd.set('0.mean', tensor([0.1, 0.2]));
  sd.set('0.std', tensor([[[[3]], [[5]]]]));
  assert.deepEqual(b.loadStateDict(sd), { missingKeys: [], unexpectedKeys: [] });
  const norm = b.at(0) as Normalize;
  assert.deepEqual(norm.mean.shape, [1, 2, 1, 1]);
  assert.deepEqual(norm.std.toFlatArray(), [3, 5]);
  const y = b.call(tensor([[[[1.1]], [[5.2]]]]));
  const conv = b.at(1) as Conv2d;
  const expected = F.conv2d(tensor([[[[(1.1 - 0.1) / 3]], [[(5.2 - 0.2) / 5]]]]), conv.weight, conv.bias);
  assert.ok(Math.abs(y.item() - expected.item()) < 1e-6);
  const persistent = new Normalize([0.5], [0.5], { persistent: true });
  assert.deepEqual([...persistent.stateDictShapes()], [['mean', [1, 1, 1, 1]], ['std', [1, 1, 1, 1]]]);
  for (const m of [a, b, persistent]) m.dispose();
}));

test('Sequential: named children, append, at(), and a "normalize" entry that adds no key', () => tidy(() => {
  const s = Sequential.fromEntries([['normalize', new Normalize([0], [1])], ['0', new Linear(2, 3)], ['1', new ReLU()]]);
  assert.deepEqual([...s.stateDictShapes().keys()], ['0.weight', '0.bias']);
  assert.ok(s.at(-1) instanceof ReLU);
  const t = new Sequential(new Identity()).append(new Linear(3, 3));
  assert.deepEqual([...t.stateDictShapes().keys()], ['1.weight', '1.bias']);
  assert.equal(t.length, 2);
  assert.throws(() => t.at(5), RangeError);
  const x = randn([4, 3]);
  assert.equal(new Sequential(new Identity(), new Identity()).call(x), x);
  s.dispose();
  t.dispose();
}));

test('to(dtype) casts floating parameters and buffers, keeps integer buffers, keeps identity on no-op moves', () => tidy(() => {
  const net = new Net();
  const weight = net.head.weight;
  net.to('cpu');
  assert.equal(net.head.weight, weight, 'a move to where the tensors are keeps them');
  net.to('float64');
  assert.equal(net.head.weight.dtype, 'float64');
  assert.ok(net.head.weight.requiresGrad && net.head.weight.isLeaf);
  assert.ok(weight.isDisposed, 'replaced tensors are freed');
  const bn = (net.body.at(0) as Block).bn;
  assert.equal(bn.runningVar!.dtype, 'float64');
  assert.equal(bn.numBatchesTracked!.dtype, 'int64');
  assert.equal(net.device, 'cpu');
  const y = net.call(randn([2, 2, 4, 4], { dtype: 'float64' }));
  assert.equal(y.dtype, 'float64');
  net.dispose();
}));

test('zeroGrad drops or zero-fills gradients; requiresGrad_ freezes; forward hooks see outputs', () => tidy(() => {
  const net = new Net();
  F.crossEntropy(net.call(randn([2, 2, 4, 4])), tensor([1, 2], { dtype: 'int64' })).backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad(false);
  assert.ok(net.parameters().every((p) => p.grad !== null && p.grad.abs().sum().item() === 0));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
  net.requiresGrad_(false);
  assert.equal(net.numParameters({ trainableOnly: true }), 0);
  const seen: number[][] = [];
  const remove = net.head.registerForwardHook((_m, _x, out) => seen.push(out.shape));
  net.call(randn([3, 2, 4, 4]));
  remove();
  net.call(randn([1, 2, 4, 4]));
  assert.deepEqual(seen, [[3, 5]]);
  assert.match(net.toString(), /^Net\(\n {2}\(body\): Sequential\(\n {4}\(0\): Block\(/);
  assert.match(net.head.toString(), /Linear\(in_features=48, out_features=5, bias=True\)/);
  net.dispose();
}));

test('stripPrefix removes DataParallel\'s "module." prefix', () => tidy(() => {
  const sd = new Map([['module.fc.weight', zeros([1])], ['fc.bias', zeros([1])]]);
  assert.deepEqual([...stripPrefix(sd, 'module.').keys()], ['fc.weight', 'fc.bias']);
}));
