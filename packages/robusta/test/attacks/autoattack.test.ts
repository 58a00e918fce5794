// AutoAttack: composition (each stage only on still-robust points), defining properties, the 'rand'
// version with EOT, and per-example results against the plain-PyTorch pipeline (python/reference.py).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
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

// The same algorithm, seeds and draws (APGD's controller and Square's windows as the official code):
// per example, the same points survive each stage. (robusta drops fooled points from APGD batches,
// which changes rounding, but the set APGD fools does not depend on it: see apgd.test.ts.)
test('per example, the same examples survive every stage of the plain-PyTorch AutoAttack pipeline', { skip: pyTorchSkip() }, () => {
  // Two APGD steps leave work for the later stages on these digits (FAB-T fools some), so more than
  // APGD-CE is compared.
  const weak = { ...small, eps: 0.06, steps: 2 };
  const { images, labels } = loadMnist('t10k', 0, 32);
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    const out = runPython<{ stages: number[] }>(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
robust, adv, stages = autoattack(make_model('mlp', T_), T_['x'], T_['y'], ${weak.eps}, 'Linf', ${weak.steps}, ${weak.nTargetClasses}, ${weak.nQueries})
save_tensors(D, {'robust': robust})
OUTPUT = {'stages': stages}
`);
    const ref = readTensors(dir);
    const theirs = ref.robust!.toFlatArray();
    const r = tidy(() => {
      const res = new AutoAttack(model, weak).run(images, labels);
      return { robust: res.success.logicalNot().toFlatArray(), stages: res.stages!.map((s) => s.robust) };
    });
    const clean = accuracy(model, images, labels);
    if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`AutoAttack: clean ${clean}, robusta ${r.stages}, PyTorch ${out.stages}`);
    const differ = r.robust.flatMap((v, i) => (v !== theirs[i] ? [i] : []));
    assert.deepEqual(differ, [], 'examples robust in one pipeline and fooled in the other');
    assert.deepEqual(r.stages, out.stages, 'robust counts after each stage');
    const robust = theirs.reduce((x, y) => x + y, 0) / theirs.length;
    assert.ok(robust < clean - 0.1, 'the attacks fooled almost nothing — the comparison would be weak');
    assert.ok(out.stages[0]! > out.stages[out.stages.length - 1]!, 'the later stages fooled nothing — only APGD-CE would be compared');
    ref.robust!.dispose();
    images.dispose();
    labels.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
