// Forward passes equal PyTorch's on the same weights and inputs: eval mode, train mode (batch
// statistics, with the running statistics and num_batches_tracked updated as PyTorch updates them),
// and the input gradient of the cross-entropy that the attacks use. Weights travel through files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { tensorsNotDisposed, rand } from '@robusta/torch';
import { BasicBlock, Bottleneck, createModel, PreActResNet, ResNet, WideResNet } from '../../src/models/index.js';
import type { Module } from '../../src/nn/module.js';
import { type ForwardCase, forwardTests } from './support/forward-check.js';

// Small batches: a PreActResNet-18 pass costs ~0.5 GFLOP per 32x32 image on a 2-core CI machine.
// The full-size models (ResNet-34, WRN-28-10, WRN-34-10) are in forward-large.test.ts.
const CASES: ForwardCase[] = [
  { name: 'mnist-cnn', py: 'mnist_cnn()', options: {}, input: [3, 1, 28, 28] },
  { name: 'mnist-mlp', py: 'mnist_mlp()', options: {}, input: [4, 1, 28, 28] },
  { name: 'mnist-mlp-deep', py: 'mnist_mlp_deep()', options: {}, input: [4, 1, 28, 28] },
  { name: 'cifar-cnn', py: 'cifar_cnn()', options: {}, input: [3, 3, 32, 32], normalized: true },
  { name: 'preact-resnet18', py: 'preact_resnet18()', options: {}, input: [2, 3, 32, 32] },
  { name: 'resnet18', py: 'torchvision.models.resnet18(num_classes=10)', options: { numClasses: 10 }, input: [2, 3, 40, 40] },
];

forwardTests(CASES);

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
    const before = tensorsNotDisposed();
    const y = model.call(x);
    assert.equal(tensorsNotDisposed(), before + 1, `${model.constructor.name}: only the output survives`);
    const total = y.sum();
    total.backward();
    total.dispose();
    y.dispose();
    model.zeroGrad();
    assert.equal(tensorsNotDisposed(), before + 0, `${model.constructor.name}: nothing left after backward`);
    x.dispose();
    model.dispose();
  }
});
