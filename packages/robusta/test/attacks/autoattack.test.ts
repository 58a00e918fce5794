// AutoAttack: composition (each stage only on still-robust points), defining properties, the 'rand'
// version with EOT, and robust accuracy against the plain-PyTorch pipeline (python/reference.py).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { hasPyTorch, runPython } from '@robusta/torch/testing';
import { type Tensor, tidy } from '@robusta/torch';
import { APGD } from '../../src/attacks/apgd.js';
import type { AttackStage } from '../../src/attacks/attack.js';
import { AutoAttack } from '../../src/attacks/autoattack.js';
import type { Classifier } from '../../src/attacks/classifier.js';
import { accuracy, loadMnist, MLP, readTensors, referencePrelude, trainedMnistModel, writeTensors } from './helpers.js';

const model = trainedMnistModel('mlp') as MLP;
const { images, labels } = loadMnist('t10k', 600, 32);
// Reduced budgets keep the test fast; the pipeline is the standard one.
const small = { eps: 0.05, steps: 25, nTargetClasses: 3, nQueries: 300 };

test('standard AutoAttack: APGD-CE → APGD-T → FAB-T → Square, robust counts only fall, ε-ball respected', () => {
  tidy(() => {
    const stages: AttackStage[] = [];
    const aa = new AutoAttack(model, { ...small, onStage: (s) => stages.push(s) });
    const r = aa.run(images, labels);
    assert.deepEqual(r.stages!.map((s) => s.attack), ['APGD-CE', 'APGDT', 'FAB-T', 'Square']);
    assert.deepEqual(stages, r.stages);
    const counts = r.stages!.map((s) => s.robust);
    const clean = r.cleanPred.eq(labels).sum().item();
    assert.ok(counts[0]! <= clean && counts.every((c, i) => i === 0 || c <= counts[i - 1]!), `robust counts ${counts}`);
    assert.equal(counts[counts.length - 1], r.success.logicalNot().sum().item());
    assert.ok(r.adv.sub(images).abs().max().item() <= small.eps + 1e-5);
    assert.ok(r.adv.min().item() >= 0 && r.adv.max().item() <= 1);
    // The first stage is APGD-CE with the same seed: AutoAttack fools at least what it fools.
    const apgd = new APGD(model, { eps: small.eps, steps: small.steps }).run(images, labels);
    assert.equal(apgd.success.logicalAnd(r.success.logicalNot()).any().item(), 0, 'AutoAttack missed an APGD-CE success');
    assert.ok(r.success.sum().item() > apgd.success.sum().item() - 1);
  });
});

test('AutoAttack L2 runs the same pipeline in the L2 ball', () => {
  tidy(() => {
    const r = new AutoAttack(model, { ...small, norm: 'L2', eps: 1.0, nQueries: 100 }).run(images, labels);
    const n = r.adv.sub(images).flatten(1).norm(2, { dim: 1 });
    assert.ok(n.max().item() <= 1.0 + 1e-4);
    assert.ok(r.success.sum().item() > 0);
  });
});

test("'rand' AutoAttack: APGD-CE and APGD-DLR with EOT gradients on a randomised model", () => {
  /** Gaussian noise on the input at every forward pass: a randomised defense. */
  class Noisy implements Classifier {
    training = false;
    calls = 0;
    forward(x: Tensor): Tensor {
      this.calls++;
      return model.forward(x.add(torch.randnLike(x).mul(0.1)));
    }
    train(mode = true): void { this.training = mode; }
    eval(): void { this.training = false; }
  }
  tidy(() => {
    const noisy = new Noisy();
    const r = new AutoAttack(noisy, { version: 'rand', eps: 0.08, steps: 10, eotIter: 4 }).run(images, labels);
    assert.deepEqual(r.stages!.map((s) => s.attack), ['APGD-CE', 'APGD-DLR']);
    assert.ok(r.adv.sub(images).abs().max().item() <= 0.08 + 1e-5);
    assert.ok(r.success.sum().item() > 0);
    // EOT: each APGD iteration averages eotIter gradients. With ε = 0 nothing is ever fooled by the
    // attack itself, so the forward passes are exactly: clean + final + (steps + 1)·eotIter.
    const counter = new Noisy();
    new APGD(counter, { eps: 0, steps: 5, eotIter: 4, earlyStop: false }).run(images, labels);
    assert.equal(counter.calls, 2 + 6 * 4);
  });
});

// Same algorithm and seeds; robusta drops fooled points from APGD batches and draws Square's windows
// differently, so robust accuracies agree within 3/32.
const TOLERANCE = 3 / 32;

test('robust accuracy matches the plain-PyTorch AutoAttack pipeline within 3/32', { skip: !hasPyTorch() }, () => {
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    const out = runPython<{ stages: number[] }>(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
robust, adv, stages = autoattack(make_model('mlp', T_), T_['x'], T_['y'], ${small.eps}, 'Linf', ${small.steps}, ${small.nTargetClasses}, ${small.nQueries})
save_tensors(D, {'robust': robust})
OUTPUT = {'stages': stages}
`);
    const ref = readTensors(dir);
    const r = tidy(() => {
      const res = new AutoAttack(model, small).run(images, labels);
      return { robust: 1 - res.success.to({ dtype: 'float32' }).mean().item(), stages: res.stages!.map((s) => s.robust) };
    });
    const theirs = tidy(() => ref.robust!.to({ dtype: 'float32' }).mean().item());
    const clean = accuracy(model, images, labels);
    if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`AutoAttack: clean ${clean}, robusta ${r.robust} ${r.stages}, PyTorch ${theirs} ${out.stages}`);
    assert.ok(Math.abs(r.robust - theirs) <= TOLERANCE, `robust accuracy ${r.robust} vs PyTorch ${theirs}`);
    assert.ok(theirs < clean, 'the comparison would be vacuous');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
