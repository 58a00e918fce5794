// Every zoo model has exactly PyTorch's state-dict keys, in order, with the same shapes; and with the
// same seed it draws the same initial weights as the PyTorch reference (same construction and
// initialisation order, same libtorch generator).
import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, tidy } from '@robusta/torch';
import { pyTorchSkip } from '@robusta/torch/testing';
import { createModel, MODEL_NAMES, type ModelOptions } from '../../src/models/index.js';
import { WideResNet } from '../../src/models/wide-resnet.js';
import { Bottleneck, ResNet } from '../../src/models/resnet.js';
import type { Module } from '../../src/nn/module.js';
import { PY_MODELS } from './support/reference-models.js';
import { once, runPy } from '../nn/support/python.js';

interface Reference {
  keys: Record<string, [string, number[]][]>;
  inits: Record<string, Record<string, [number, number, number[]]>>;
}

const SEED = 20261125;

const SCRIPT = `${PY_MODELS}
def shapes(m):
    return [[k, list(v.shape)] for k, v in m.state_dict().items()]
def checksums(m):
    out = {}
    for k, v in m.state_dict().items():
        d = v.detach().float().reshape(-1)
        out[k] = [float(d.sum()), float((d * d).sum()), d[:4].tolist()]
    return out
# Keys and shapes need no random weights: skip the initialisation draws (the big WRNs are slow to fill).
draws = (torch.Tensor.uniform_, torch.Tensor.normal_)
torch.Tensor.uniform_ = lambda self, *a, **k: self
torch.Tensor.normal_ = lambda self, *a, **k: self
keys = {}
for name, make in REFERENCE.items():
    keys[name] = shapes(make())
keys['resnet18-cifar'] = shapes(resnet_cifar('resnet18'))
keys['wrn-28-2-sub'] = shapes(WideResNet(28, 10, 2, sub_block1=True))
keys['wrn-16-4-bias'] = shapes(WideResNet(16, 7, 4, bias_last=False))
torch.Tensor.uniform_, torch.Tensor.normal_ = draws
inits = {}
bottleneck = lambda: torchvision.models.resnet.ResNet(torchvision.models.resnet.Bottleneck, [1, 1, 1, 1], num_classes=10)
for name, make in [('mnist-cnn', mnist_cnn), ('cifar-cnn', cifar_cnn), ('preact-resnet18', preact_resnet18),
                   ('resnet18', torchvision.models.resnet18), ('resnet-bottleneck-1111', bottleneck),
                   ('wrn-16-2', lambda: WideResNet(16, 10, 2))]:
    torch.manual_seed(${SEED})
    inits[name] = checksums(make())
OUTPUT = {'keys': keys, 'inits': inits}
`;

const skip = pyTorchSkip();
const ref = once(() => runPy<Reference>(SCRIPT));

function shapesOf(m: Module): [string, number[]][] {
  const out = [...m.stateDictShapes()];
  m.dispose();
  return out;
}

const cases: [string, () => Module][] = [
  ...MODEL_NAMES.map((n): [string, () => Module] => [n, () => createModel(n)]),
  ['resnet18-cifar', () => createModel('resnet18', { stem: 'cifar' })],
  ['wrn-28-2-sub', () => new WideResNet({ depth: 28, widenFactor: 2, subBlock1: true })],
  ['wrn-16-4-bias', () => new WideResNet({ depth: 16, widenFactor: 4, numClasses: 7, biasLast: false })],
];

for (const [name, make] of cases) {
  test(`${name}: state-dict keys and shapes equal PyTorch's`, { skip }, () => {
    const expected = ref().keys[name];
    assert.ok(expected, `no reference for ${name}`);
    const actual = shapesOf(make());
    assert.deepEqual(actual.map(([k]) => k), expected.map(([k]) => k));
    assert.deepEqual(actual, expected);
  });
}

test('normalisation adds no key and numClasses changes only the head', () => {
  const plain = shapesOf(createModel('resnet18', { stem: 'cifar' }));
  const normalized = shapesOf(createModel('resnet18', { stem: 'cifar', normalize: 'cifar10' }));
  assert.deepEqual(normalized, plain);
  const mnist = shapesOf(createModel('mnist-cnn', { normalize: 'mnist', numClasses: 5 }));
  assert.deepEqual(mnist.map(([k]) => k), ['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias', '6.weight', '6.bias', '9.weight', '9.bias', '11.weight', '11.bias']);
  assert.deepEqual(mnist.at(-2), ['11.weight', [5, 100]]);
  assert.throws(() => createModel('mnist-cnn', { normalize: 'cifar10' }), RangeError);
  assert.throws(() => createModel('vgg16'), /unknown model 'vgg16'.*resnet18/);
});

const inits: [string, () => Module][] = [
  ['mnist-cnn', () => createModel('mnist-cnn')],
  ['cifar-cnn', () => createModel('cifar-cnn')],
  ['preact-resnet18', () => createModel('preact-resnet18')],
  ['resnet18', () => createModel('resnet18')],
  ['resnet-bottleneck-1111', () => new ResNet(Bottleneck, [1, 1, 1, 1], { numClasses: 10 })],
  ['wrn-16-2', () => new WideResNet({ depth: 16, widenFactor: 2 })],
];

for (const [name, make] of inits) {
  test(`${name}: the same seed draws PyTorch's initial weights`, { skip }, () => {
    const expected = ref().inits[name]!;
    manualSeed(SEED);
    const model = make();
    try {
      const actual = tidy(() => {
        const out: Record<string, [number, number, number[]]> = {};
        for (const [k, v] of model.stateDict()) {
          const d = v.float().reshape(-1);
          out[k] = [d.sum().item(), d.square().sum().item(), d.slice(0, 0, 4).toFlatArray()];
        }
        return out;
      });
      assert.deepEqual(Object.keys(actual), Object.keys(expected));
      for (const [k, [sum, sq, head]] of Object.entries(expected)) {
        const [s2, q2, h2] = actual[k]!;
        assert.deepEqual(h2, head, `${name} ${k}: first elements`);
        // float32 sums: the summation order may differ with the thread count, hence a relative tolerance.
        assert.ok(Math.abs(s2 - sum) <= 1e-5 * Math.max(1, Math.sqrt(sq) * 100), `${name} ${k}: sum ${s2} vs ${sum}`);
        assert.ok(Math.abs(q2 - sq) <= 1e-5 * Math.max(1, sq), `${name} ${k}: sum of squares ${q2} vs ${sq}`);
      }
    } finally {
      model.dispose();
    }
  });
}

test('model options reach the models', () => {
  const opts: ModelOptions = { numClasses: 3, dropRate: 0.3 };
  const wrn = createModel('wrn-28-10', opts) as WideResNet;
  assert.equal(wrn.fc.outFeatures, 3);
  assert.equal(wrn.block2.layer.children().length, 4);
  wrn.dispose();
});
