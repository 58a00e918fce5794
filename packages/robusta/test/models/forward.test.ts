// Forward passes equal PyTorch's on the same weights and inputs: eval mode, train mode (batch
// statistics, with the running statistics and num_batches_tracked updated as PyTorch updates them),
// and the input gradient of the cross-entropy that the attacks use. Weights travel through files.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { F, memoryStats, noGrad, rand, type Tensor, tidy } from '@robusta/torch';
import { pyTorchSkip } from '@robusta/torch/testing';
import { BasicBlock, Bottleneck, createModel, DATASET_STATS, type ModelOptions, PreActResNet, ResNet, WideResNet } from '../../src/models/index.js';
import type { Module } from '../../src/nn/module.js';
import { PY_MODELS } from './support/reference-models.js';
import { once, runPy } from '../nn/support/python.js';
import { makeTempDir, maxAbs, maxDiff, PY_TENSOR_FILES, readTensors } from '../nn/support/tensor-files.js';

// Small batches: a PreActResNet-18 pass costs ~0.5 GFLOP per 32x32 image on a 2-core CI machine.
const CASES: { name: string; py: string; options: ModelOptions; input: number[]; normalized?: boolean }[] = [
  { name: 'mnist-cnn', py: 'mnist_cnn()', options: {}, input: [3, 1, 28, 28] },
  { name: 'cifar-cnn', py: 'cifar_cnn()', options: {}, input: [3, 3, 32, 32], normalized: true },
  { name: 'preact-resnet18', py: 'preact_resnet18()', options: {}, input: [2, 3, 32, 32] },
  { name: 'resnet18', py: 'torchvision.models.resnet18(num_classes=10)', options: { numClasses: 10 }, input: [2, 3, 40, 40] },
];

const SCRIPT = `${PY_MODELS}
${PY_TENSOR_FILES}
d = INPUT['dir']
cifar_mean = torch.tensor(INPUT['mean']).view(1, 3, 1, 1)
cifar_std = torch.tensor(INPUT['std']).view(1, 3, 1, 1)
torch.manual_seed(1)
for case in INPUT['cases']:
    name = case['name']
    m = eval(case['py'])
    # Non-trivial normalisation state, so that eval mode differs from batch statistics.
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.3, 0.3)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
            mod.num_batches_tracked.fill_(7)
    save_tensors(d, name + '-weights', m.state_dict())
    x = torch.rand(case['input'])
    y = torch.randint(0, 10, (case['input'][0],))
    m.eval()
    with torch.no_grad():
        out_eval = m(x)
        out_norm = m((x - cifar_mean) / cifar_std) if case.get('normalized') else out_eval
    xg = x.clone().requires_grad_(True)
    F.cross_entropy(m(xg), y).backward()
    m.train()
    out_train = m(x)
    save_tensors(d, name + '-io', {'x': x, 'y': y, 'eval': out_eval, 'eval_normalized': out_norm, 'input_grad': xg.grad, 'train': out_train})
    save_tensors(d, name + '-after', m.state_dict())
OUTPUT = True
`;

const tmp = makeTempDir();
after(() => tmp.remove());
const skip = pyTorchSkip();
const reference = once(() => runPy(SCRIPT, {
  dir: tmp.dir, cases: CASES, mean: DATASET_STATS.cifar10.mean, std: DATASET_STATS.cifar10.std,
}));

function close(actual: Tensor, expected: Tensor, what: string, rel = 1e-4): void {
  const d = maxDiff(actual, expected);
  const scale = Math.max(1e-3, maxAbs(expected));
  assert.ok(d <= rel * scale, `${what}: max |diff| ${d.toExponential(3)} > ${rel} x ${scale.toExponential(3)}`);
}

for (const c of CASES) {
  test(`${c.name}: eval, input-gradient and train-mode outputs equal PyTorch's`, { skip }, () => {
    reference();
    const weights = readTensors(tmp.dir, `${c.name}-weights`);
    const io = readTensors(tmp.dir, `${c.name}-io`);
    const updated = readTensors(tmp.dir, `${c.name}-after`);
    const model = createModel(c.name, c.options);
    try {
      tidy(() => {
        const result = model.loadStateDict(weights);
        assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
        const x = io.get('x')!;
        const y = io.get('y')!;
        model.eval();
        close(noGrad(() => model.call(x)), io.get('eval')!, `${c.name} eval logits`);

        const xg = x.clone().requiresGrad_(true);
        F.crossEntropy(model.call(xg), y).backward();
        const g = xg.grad!;
        close(g, io.get('input_grad')!, `${c.name} input gradient`, 1e-3);

        model.train();
        close(model.call(x), io.get('train')!, `${c.name} train logits`);
        const mine = model.stateDict();
        for (const [k, v] of updated) {
          if (k.endsWith('num_batches_tracked')) assert.equal(mine.get(k)!.item(), v.item(), `${c.name} ${k}`);
          else close(mine.get(k)!, v, `${c.name} ${k} after a training-mode forward`);
        }
      });
      if (c.normalized) {
        const normalized = createModel(c.name, { ...c.options, normalize: 'cifar10' });
        try {
          normalized.loadStateDict(weights);
          normalized.eval();
          tidy(() => close(noGrad(() => normalized.call(io.get('x')!)), io.get('eval_normalized')!, `${c.name} with Normalize`));
        } finally {
          normalized.dispose();
        }
      }
    } finally {
      model.dispose();
      for (const m of [weights, io, updated]) for (const t of m.values()) t.dispose();
    }
  });
}

test('a forward pass outside any tidy() leaves only its output alive; backward frees the graph', () => {
  const models: [Module, number[]][] = [
    [createModel('mnist-cnn', { normalize: 'mnist' }), [2, 1, 28, 28]],
    [new PreActResNet([1, 1, 1, 1], { normalize: 'cifar10' }), [2, 3, 32, 32]],
    [new ResNet(BasicBlock, [1, 1, 1, 1], { stem: 'cifar', numClasses: 3 }), [2, 3, 16, 16]],
    [new ResNet(Bottleneck, [1, 1, 1, 1], { numClasses: 3 }), [2, 3, 32, 32]],
    [new WideResNet({ depth: 10, widenFactor: 1, dropRate: 0.2 }), [2, 3, 32, 32]],
  ];
  for (const [model, shape] of models) {
    const x = rand(shape);
    const before = memoryStats().liveTensors;
    const y = model.call(x);
    assert.equal(memoryStats().liveTensors, before + 1, `${model.constructor.name}: only the output survives`);
    const total = y.sum();
    total.backward();
    total.dispose();
    y.dispose();
    model.zeroGrad();
    assert.equal(memoryStats().liveTensors, before + 0, `${model.constructor.name}: nothing left after backward`);
    x.dispose();
    model.dispose();
  }
});
