// SPSA, EAD-L1/EAD-EN, SparseFool and JSMA against plain-PyTorch implementations of the same algorithms
// (python/other_family.py) on the same models, inputs and seeds, per example; and their defining
// properties (budget, [0, 1], sparsity, query counts).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { type Tensor, tidy } from '@robusta/torch';
import type { Attack } from '../../src/attacks/attack.js';
import { EADEN, EADL1 } from '../../src/attacks/ead.js';
import { JSMA } from '../../src/attacks/jsma.js';
import { SparseFool } from '../../src/attacks/sparsefool.js';
import { SPSA } from '../../src/attacks/spsa.js';
import { loadMnist, maxDiff, readTensors, trainedMnistModel, writeTensors } from './helpers.js';
import { otherFamilyPrelude } from './other-family-prelude.js';

interface Case {
  name: string;
  make: (m: ReturnType<typeof trainedMnistModel>) => Attack;
  py: string;
  targeted?: boolean;
  /** Max |robusta − PyTorch| on the adversarial images. */
  tol: number;
}

// SPSA: the same Rademacher draws (one seed, same order) and torch.optim.Adam vs robusta's Adam
// formula: float rounding only, which Adam's m/√v amplifies where the estimate is near 0 (measured
// ≤ 1.3e-5 after 8 steps; a step is lr = 0.05). EAD: same operations, batch-level early stop on the same batch.
// SparseFool/JSMA: the reference goes one example at a time (torchattacks' loops), robusta batches.
const cases: Case[] = [
  {
    name: 'SPSA', make: (m) => new SPSA(m, { eps: 0.25, delta: 0.01, lr: 0.05, nbIter: 6, nbSample: 48, maxBatchSize: 20, seed: 11 }),
    py: 'spsa(M, x, y, 0.25, 0.01, 0.05, 6, 48, 20, 11)', tol: 5e-5,
  },
  {
    name: 'SPSA-targeted', make: (m) => new SPSA(m, { eps: 0.3, lr: 0.05, nbIter: 8, nbSample: 32, seed: 5, mode: 'targeted' }),
    py: 'spsa(M, x, y, 0.3, 0.01, 0.05, 8, 32, 64, 5, t=t)', targeted: true, tol: 5e-5,
  },
  {
    name: 'EADL1', make: (m) => new EADL1(m, { binarySearchSteps: 4, maxIterations: 40, lr: 0.05, initialConst: 0.1, beta: 0.01 }),
    py: "ead(M, x, y, 'L1', lr=0.05, bs_steps=4, max_iter=40, c0=0.1, beta=0.01)", tol: 1e-5,
  },
  {
    name: 'EADEN', make: (m) => new EADEN(m, { binarySearchSteps: 4, maxIterations: 40, lr: 0.05, initialConst: 0.1, beta: 0.01, kappa: 1 }),
    py: "ead(M, x, y, 'EN', kappa=1.0, lr=0.05, bs_steps=4, max_iter=40, c0=0.1, beta=0.01)", tol: 1e-5,
  },
  {
    name: 'EADL1-targeted', make: (m) => new EADL1(m, { binarySearchSteps: 3, maxIterations: 30, lr: 0.05, initialConst: 1, mode: 'targeted', abortEarly: false }),
    py: "ead(M, x, y, 'L1', lr=0.05, bs_steps=3, max_iter=30, c0=1.0, abort_early=False, t=t)", targeted: true, tol: 1e-5,
  },
  { name: 'SparseFool', make: (m) => new SparseFool(m, { steps: 4, lam: 2 }), py: 'sparsefool(M, x, y, 4, 2.0, 0.02)', tol: 1e-5 },
  { name: 'JSMA', make: (m) => new JSMA(m, { theta: 1, gamma: 0.05 }), py: 'jsma(M, x, y, 1.0, 0.05)', tol: 1e-6 },
  {
    name: 'JSMA-targeted-decreasing', make: (m) => new JSMA(m, { theta: -1, gamma: 0.05, mode: 'targeted' }),
    py: 'jsma(M, x, y, -1.0, 0.05, t=t)', targeted: true, tol: 1e-6,
  },
];

const N = 8;

test('SPSA, EAD, SparseFool and JSMA match plain-PyTorch implementations per example (trained MLP and CNN, 8 MNIST digits)', { skip: pyTorchSkip(), timeout: 300_000 }, () => {
  const models = { mlp: trainedMnistModel('mlp'), cnn: trainedMnistModel('cnn') };
  const { images, labels } = loadMnist('t10k', 200, N);
  const targets = tidy(() => labels.add(3).remainder(10));
  const weights: Record<string, Tensor> = { ...models.mlp.weights, ...models.cnn.weights };
  const dir = writeTensors({ ...weights, x: images, y: labels, t: targets });
  try {
    const calls = Object.keys(models).flatMap((kind) =>
      cases.map((c) => `    out['${kind}.${c.name}'] = ${c.py.replace('M,', `models['${kind}'],`)}`)).join('\n');
    runPython(`${otherFamilyPrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
x, y, t = T_['x'], T_['y'], T_['t']
models = {k: make_model(k, T_) for k in ('mlp', 'cnn')}
out = {}
if True:
${calls}
save_tensors(D, out)
OUTPUT = None
`);
    const reference = readTensors(dir);
    const failures: string[] = [];
    for (const [kind, model] of Object.entries(models)) {
      for (const c of cases) {
        tidy(() => {
          const r = c.make(model).run(images, labels, c.targeted ? targets : undefined);
          const want = reference[`${kind}.${c.name}`]!;
          const perExample = r.adv.sub(want).abs().flatten(1).amax(1).toFlatArray();
          const bad = perExample.flatMap((d, i) => (d > c.tol ? [`#${i}: ${d.toExponential(2)}`] : []));
          if (process.env.ROBUSTA_TEST_VERBOSE) console.log(kind, c.name, Math.max(...perExample), r.success.sum().item());
          if (bad.length > 0) failures.push(`${kind} ${c.name}: examples differing from PyTorch by more than ${c.tol}: ${bad.join(', ')}`);
          // The comparison means something only if the attack moved the images and fooled some.
          if (!(maxDiff(r.adv, images) > 1e-3)) failures.push(`${kind} ${c.name}: the attack did not move the images`);
          if (!(r.success.sum().item() > 0)) failures.push(`${kind} ${c.name}: fooled nothing`);
        });
      }
    }
    for (const t of Object.values(reference)) t.dispose();
    assert.deepEqual(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('defining properties: SPSA within ε and [0, 1] with 2·nbSample·nbIter queries, EAD-L1 sparser than EAD-EN, JSMA and SparseFool sparse', () => {
  const model = trainedMnistModel('mlp');
  const { images, labels } = loadMnist('t10k', 300, 12);
  const d = 784;
  tidy(() => {
    const before = model.forwardExamples;
    const spsa = new SPSA(model, { eps: 0.1, lr: 0.05, nbIter: 3, nbSample: 16, maxBatchSize: 7, seed: 1 }).run(images, labels);
    const delta = spsa.adv.sub(images);
    assert.ok(delta.abs().max().item() <= 0.1 + 1e-6, 'SPSA left the ε-ball');
    assert.ok(spsa.adv.min().item() >= 0 && spsa.adv.max().item() <= 1);
    assert.deepEqual(spsa.queries!.toFlatArray(), new Array(12).fill(2 * 16 * 3));
    // Every query is a forward of one example; run() adds a clean and a final pass.
    assert.equal(model.forwardExamples - before, 12 * (2 * 16 * 3 + 2));
    // A seeded run repeats itself; another seed draws other directions.
    assert.equal(maxDiff(new SPSA(model, { eps: 0.1, lr: 0.05, nbIter: 3, nbSample: 16, maxBatchSize: 7, seed: 1 }).run(images, labels).adv, spsa.adv), 0);
    assert.ok(maxDiff(new SPSA(model, { eps: 0.1, lr: 0.05, nbIter: 3, nbSample: 16, maxBatchSize: 7, seed: 2 }).run(images, labels).adv, spsa.adv) > 0);

    const common = { binarySearchSteps: 5, maxIterations: 50, lr: 0.05, initialConst: 0.1, beta: 0.05 };
    const l1 = new EADL1(model, common).run(images, labels);
    const en = new EADEN(model, common).run(images, labels);
    const both = l1.success.logicalAnd(en.success);
    assert.ok(both.sum().item() >= 8, 'EAD fooled too few to compare');
    const norm1 = (t: Tensor): number => t.sub(images).abs().flatten(1).sum(1).maskedSelect(both).sum().item();
    assert.ok(norm1(l1.adv) <= norm1(en.adv) + 1e-4, `EAD-L1's L1 distortion ${norm1(l1.adv)} > EAD-EN's ${norm1(en.adv)}`);
    assert.ok(l1.adv.min().item() >= 0 && l1.adv.max().item() <= 1);
    // Unfooled examples come back unchanged.
    const untouched = l1.success.logicalNot();
    assert.equal(l1.adv.sub(images).abs().flatten(1).amax(1).maskedSelect(untouched).sum().item(), 0);

    // JSMA changes at most 2·⌈γ·d/2⌉ features, each by θ (then clipped), and stops at the target.
    const targets = labels.add(1).remainder(10);
    const jsma = new JSMA(model, { gamma: 0.1, mode: 'targeted' }).run(images, labels, targets);
    const changed = jsma.adv.ne(images).flatten(1).sum(1);
    assert.ok(changed.max().item() <= 2 * Math.ceil(0.1 * d / 2));
    assert.deepEqual(jsma.success.toFlatArray(), jsma.advPred.eq(targets).toFlatArray());
    assert.ok(jsma.success.sum().item() >= 6, 'JSMA reached few targets');
    // The untargeted mode aims at (y + 1) mod C: the same points as the targeted run towards it.
    assert.equal(maxDiff(new JSMA(model, { gamma: 0.1 }).run(images, labels).adv, jsma.adv), 0);

    const sf = new SparseFool(model, { steps: 10 }).run(images, labels);
    const sfChanged = sf.adv.ne(images).flatten(1).sum(1).maskedSelect(sf.success);
    assert.ok(sf.success.sum().item() >= 10, 'SparseFool fooled few');
    assert.ok(sfChanged.to({ dtype: 'float32' }).mean().item() < 0.25 * d, `SparseFool changed ${sfChanged.to({ dtype: 'float32' }).mean().item()} of ${d} pixels on average`);
  });
});

test('parameter checks name the attack and the parameter', () => {
  const model = trainedMnistModel('mlp');
  assert.throws(() => new SPSA(model, { nbSample: 0 }), /SPSA: nbSample must be >= 1/);
  assert.throws(() => new EADL1(model, { beta: -1 }), /EADL1: beta must be >= 0/);
  assert.throws(() => new JSMA(model, { theta: 0 }), /JSMA: theta must not be 0/);
  assert.throws(() => new JSMA(model, { gamma: 2 }), /JSMA: gamma must be <= 1/);
  assert.throws(() => new SparseFool(model, { mode: 'targeted' }), /SparseFool: targeted modes are not supported/);
});
