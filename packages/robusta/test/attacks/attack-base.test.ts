// The Attack base: input validation, eval mode during attacks, target modes, seeding, memory.
import assert from 'node:assert/strict';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { type Tensor, tensor, tidy } from '@robusta/torch';
import { APGD } from '../../src/attacks/apgd.js';
import { APGDT } from '../../src/attacks/apgdt.js';
import type { Attack } from '../../src/attacks/attack.js';
import { AutoAttack } from '../../src/attacks/autoattack.js';
import { BIM } from '../../src/attacks/bim.js';
import type { Classifier } from '../../src/attacks/classifier.js';
import { CW } from '../../src/attacks/cw.js';
import { DeepFool } from '../../src/attacks/deepfool.js';
import { FAB } from '../../src/attacks/fab.js';
import { FGSM } from '../../src/attacks/fgsm.js';
import { MIFGSM } from '../../src/attacks/mifgsm.js';
import { PGD } from '../../src/attacks/pgd.js';
import { PGDL2 } from '../../src/attacks/pgdl2.js';
import { Square } from '../../src/attacks/square.js';
import { TPGD } from '../../src/attacks/tpgd.js';
import { loadMnist, trainedMnistModel } from './helpers.js';

const model = trainedMnistModel('mlp');
const { images, labels } = loadMnist('t10k', 200, 16);

/** Wraps a model and records the training flag seen by every forward call. */
class ModeSpy implements Classifier {
  training = true;
  seen: boolean[] = [];
  constructor(private readonly inner: Classifier, private readonly shape?: (z: Tensor) => Tensor) {}
  forward(x: Tensor): Tensor {
    this.seen.push(this.training);
    const z = this.inner.forward(x);
    return this.shape ? this.shape(z) : z;
  }
  train(mode = true): void { this.training = mode; }
  eval(): void { this.training = false; }
}

test('images outside [0, 1], NaN images, non-float images: RangeError / TypeError', () => {
  const atk = new FGSM(model);
  tidy(() => {
    assert.throws(() => atk.run(images.mul(2), labels), RangeError);
    assert.throws(() => atk.run(images.sub(0.5), labels), RangeError);
    const nan = images.clone();
    nan.view(-1).narrow(0, 5, 1).fill_(NaN);
    assert.throws(() => atk.run(nan, labels), RangeError);
    assert.throws(() => atk.run(images.to({ dtype: 'int64' }), labels), TypeError);
    assert.throws(() => atk.run(images.narrow(0, 0, 0), labels.narrow(0, 0, 0)), RangeError);
  });
});

test('labels must be int64 [N] within the logits: TypeError / RangeError', () => {
  const atk = new PGD(model, { steps: 1 });
  tidy(() => {
    assert.throws(() => atk.run(images, labels.to({ dtype: 'float32' })), TypeError);
    assert.throws(() => atk.run(images, labels.narrow(0, 0, 8)), RangeError);
    assert.throws(() => atk.run(images, labels.add(10)), /class indices in \[0, 9\]/);
    assert.throws(() => atk.run(images, labels.sub(20)), RangeError);
  });
});

test('the model must return logits [N, C]: RangeError', () => {
  tidy(() => {
    assert.throws(() => new FGSM(new ModeSpy(model, (z) => z.sum(1))).run(images, labels), RangeError);
    assert.throws(() => new FGSM(new ModeSpy(model, (z) => z.unsqueeze(2))).run(images, labels), RangeError);
    assert.throws(() => new FGSM(new ModeSpy(model, (z) => z.narrow(0, 0, 4))).run(images, labels), RangeError);
  });
});

test('bad hyper-parameters: RangeError (negative eps, steps < 1, NaN, unknown norm/loss)', () => {
  assert.throws(() => new FGSM(model, { eps: -0.1 }), RangeError);
  assert.throws(() => new FGSM(model, { eps: NaN }), RangeError);
  assert.throws(() => new PGD(model, { steps: 0 }), RangeError);
  assert.throws(() => new PGD(model, { steps: 2.5 }), RangeError);
  assert.throws(() => new PGD(model, { alpha: NaN }), RangeError);
  assert.throws(() => new BIM(model, { eps: -1 }), RangeError);
  assert.throws(() => new PGDL2(model, { eps: Infinity }), RangeError);
  assert.throws(() => new MIFGSM(model, { decay: NaN }), RangeError);
  assert.throws(() => new TPGD(model, { steps: -3 }), RangeError);
  assert.throws(() => new CW(model, { lr: 0 }), RangeError);
  assert.throws(() => new CW(model, { c: NaN }), RangeError);
  assert.throws(() => new DeepFool(model, { overshoot: -0.1 }), RangeError);
  assert.throws(() => new APGD(model, { rho: 2 }), RangeError);
  assert.throws(() => new APGD(model, { loss: 'mse' as 'ce' }), RangeError);
  assert.throws(() => new APGD(model, { norm: 'L1' as 'L2' }), RangeError);
  assert.throws(() => new APGDT(model, { nTargetClasses: 0 }), RangeError);
  assert.throws(() => new FAB(model, { alphaMax: 1.5 }), RangeError);
  assert.throws(() => new Square(model, { pInit: 0 }), RangeError);
  assert.throws(() => new Square(model, { nQueries: 0 }), RangeError);
  assert.throws(() => new AutoAttack(model, { version: 'plus' as 'rand' }), RangeError);
  assert.throws(() => new PGD(model, { seed: -1 }), RangeError);
});

test('targeted modes: targets required / refused / unsupported', () => {
  tidy(() => {
    assert.throws(() => new FGSM(model, { mode: 'targeted' }).run(images, labels), TypeError);
    assert.throws(() => new FGSM(model).run(images, labels, labels), TypeError);
    assert.throws(() => new FGSM(model, { mode: 'targeted' }).run(images, labels, labels.add(10)), RangeError);
    assert.throws(() => new TPGD(model, { mode: 'random' }), TypeError);
    assert.throws(() => new DeepFool(model, { mode: 'leastLikely' }), TypeError);
    assert.throws(() => new FGSM(model, { mode: 'sideways' as 'random' }), TypeError);
    assert.throws(() => new FGSM(model, { mode: 'leastLikely', leastLikelyRank: 10 }).run(images, labels), RangeError);
  });
});

test('the model is in eval mode during the attack and its mode is restored (also after an error)', () => {
  for (const make of [(m: Classifier) => new PGD(m, { steps: 2 }), (m: Classifier) => new APGD(m, { steps: 3 })]) {
    const spy = new ModeSpy(model);
    tidy(() => make(spy).run(images, labels));
    assert.ok(spy.seen.length > 2);
    assert.ok(spy.seen.every((t) => t === false), 'a forward pass ran in training mode');
    assert.equal(spy.training, true, 'training mode not restored');
    spy.eval();
    tidy(() => make(spy).run(images, labels));
    assert.equal(spy.training, false, 'eval mode not kept');
  }
  const broken = new ModeSpy(model, (z) => z.sum(1));
  assert.throws(() => tidy(() => new FGSM(broken).run(images, labels)), RangeError);
  assert.equal(broken.training, true);
});

test('target modes: random ≠ label, least likely, function, given; targeted success means reaching the target', () => {
  tidy(() => {
    const logits = torch.noGrad(() => model.forward(images));
    const rnd = new FGSM(model, { mode: 'random', seed: 3 }).run(images, labels);
    assert.ok(rnd.targets);
    assert.equal(rnd.targets.ne(labels).all().item(), 1, 'a random target equals the label');
    assert.ok(rnd.targets.min().item() >= 0 && rnd.targets.max().item() <= 9);
    // Many draws: every class other than the label shows up.
    const many = new FGSM(model, { mode: 'random', seed: 4 }).run(images.narrow(0, 0, 1).expand(400, 1, 28, 28).contiguous(),
      labels.narrow(0, 0, 1).expand(400).contiguous());
    assert.equal(new Set(many.targets!.toFlatArray()).size, 9);

    // The k-th least likely class other than the label, computed here from the logits row by row.
    const rows = logits.tolist() as number[][];
    const ys = labels.toFlatArray();
    const kthLeast = (k: number): number[] => rows.map((row, i) =>
      row.map((v, c) => ({ v, c })).filter(({ c }) => c !== ys[i]).sort((a, b) => a.v - b.v)[k - 1]!.c);
    const ll = new FGSM(model, { mode: 'leastLikely' }).run(images, labels);
    assert.deepEqual(ll.targets!.toFlatArray(), kthLeast(1));
    const second = new FGSM(model, { mode: 'leastLikely', leastLikelyRank: 2 }).run(images, labels);
    assert.deepEqual(second.targets!.toFlatArray(), kthLeast(2));

    const fn = new FGSM(model, { mode: (_x, y) => y.add(1).remainder(10) }).run(images, labels);
    assert.deepEqual(fn.targets!.toFlatArray(), labels.add(1).remainder(10).toFlatArray());
    assert.throws(() => new FGSM(model, { mode: () => tensor([1, 2]) }).run(images, labels), TypeError);

    const given = labels.add(5).remainder(10);
    const pgd = new PGD(model, { mode: 'targeted', eps: 0.3, alpha: 0.02, steps: 30, randomStart: false }).run(images, labels, given);
    assert.deepEqual(pgd.success.toFlatArray(), pgd.advPred.eq(given).toFlatArray());
    assert.ok(pgd.success.sum().item() >= 12, 'targeted PGD with ε = 0.3 should reach most targets');
    assert.equal(pgd.success.dtype, 'bool');
    assert.deepEqual(pgd.cleanPred.toFlatArray(), logits.argmax(1).toFlatArray());
  });
});

test('seed: same seed, same result; the caller\'s generator state is restored', () => {
  tidy(() => {
    const a = new PGD(model, { steps: 3, seed: 11 }).run(images, labels).adv;
    torch.manualSeed(99);
    const b = new PGD(model, { steps: 3, seed: 11 }).run(images, labels).adv;
    assert.equal(a.sub(b).abs().max().item(), 0);
    const c = new PGD(model, { steps: 3, seed: 12 }).run(images, labels).adv;
    assert.ok(a.sub(c).abs().max().item() > 0);
    torch.manualSeed(5);
    const expected = torch.rand([4]).toFlatArray();
    torch.manualSeed(5);
    new PGD(model, { steps: 1, seed: 1 }).run(images, labels);
    assert.deepEqual(torch.rand([4]).toFlatArray(), expected);
  });
});

// GC finalizers may free unrelated garbage tensors meanwhile, so the count must not grow (rather than stay equal).
test('no tensor leaks: live tensors do not grow across a run of each attack (results disposed)', () => {
  const attacks: Attack[] = [
    new FGSM(model), new BIM(model, { steps: 3 }), new PGD(model, { steps: 3 }), new PGDL2(model, { steps: 3 }),
    new TPGD(model, { steps: 3 }), new MIFGSM(model, { steps: 3 }), new CW(model, { steps: 5 }), new DeepFool(model, { steps: 3 }),
    new APGD(model, { steps: 10, eps: 0.05 }), new APGD(model, { steps: 10, norm: 'L2', loss: 'dlr', nRestarts: 2 }),
    new APGDT(model, { steps: 5, nTargetClasses: 2 }), new FAB(model, { steps: 3, nRestarts: 2 }),
    new FAB(model, { steps: 3, norm: 'L2', multiTargeted: true, nTargetClasses: 2 }),
    new Square(model, { nQueries: 20 }), new Square(model, { nQueries: 20, norm: 'L2', eps: 1 }),
    new AutoAttack(model, { steps: 5, nTargetClasses: 2, nQueries: 20, eps: 0.05 }),
    new AutoAttack(model, { version: 'rand', steps: 3, eotIter: 2, eps: 0.05 }),
  ];
  for (const atk of attacks) {
    const before = torch.tensorsNotDisposed();
    const r = atk.run(images, labels);
    torch.dispose(r);
    assert.ok(torch.tensorsNotDisposed() <= before, `${atk.name} leaked ${torch.tensorsNotDisposed() - before} tensors`);
  }
});

test('every iteration frees its temporaries: live tensors during a long run stay at the level of a short run', () => {
  class PeakSpy implements Classifier {
    training = false;
    peak = 0;
    forward(x: Tensor): Tensor {
      this.peak = Math.max(this.peak, torch.tensorsNotDisposed());
      return model.forward(x);
    }
    train(mode = true): void { this.training = mode; }
    eval(): void { this.training = false; }
  }
  const makers: [string, (m: Classifier, steps: number) => Attack][] = [
    ['PGD', (m, steps) => new PGD(m, { steps })],
    ['MIFGSM', (m, steps) => new MIFGSM(m, { steps })],
    ['CW', (m, steps) => new CW(m, { steps, lr: 0.001 })],
    ['DeepFool', (m, steps) => new DeepFool(m, { steps, overshoot: 0 })],
    ['APGD', (m, steps) => new APGD(m, { steps, eps: 0.01, earlyStop: false })],
    ['FAB', (m, steps) => new FAB(m, { steps })],
    ['Square', (m, steps) => new Square(m, { nQueries: steps, eps: 0.01 })],
  ];
  for (const [name, make] of makers) {
    const peaks = [4, 40].map((steps) => {
      const spy = new PeakSpy();
      tidy(() => make(spy, steps).run(images, labels));
      return spy.peak;
    });
    assert.ok(peaks[1]! <= peaks[0]! + 8, `${name}: ${peaks[0]} live tensors at most in 4 steps but ${peaks[1]} in 40`);
  }
});

test('generate(): run()\'s adversarial images with no forward pass beyond the attack\'s own; run() adds the success and clean passes', () => {
  tidy(() => {
    const cases: [string, (m: Classifier) => Attack, number][] = [
      ['FGSM', (m) => new FGSM(m, { eps: 0.1 }), 1],
      ['PGD-4', (m) => new PGD(m, { eps: 0.1, alpha: 0.02, steps: 4, seed: 3 }), 4],
      ['BIM-3 targeted', (m) => new BIM(m, { eps: 0.1, alpha: 0.02, steps: 3, mode: 'targeted' }), 3],
    ];
    for (const [name, make, attackForwards] of cases) {
      const spyGenerate = new ModeSpy(model);
      const targets = labels.add(1).remainder(10);
      const targeted = make(model).targeted;
      const adv = make(spyGenerate).generate(images, labels, targeted ? targets : undefined);
      assert.equal(spyGenerate.seen.length, attackForwards, `${name}: forward passes of generate()`);
      const spyRun = new ModeSpy(model);
      const r = make(spyRun).run(images, labels, targeted ? targets : undefined);
      assert.equal(spyRun.seen.length, attackForwards + 2, `${name}: run() adds the pass on the adversarial and on the clean images`);
      assert.equal(adv.sub(r.adv).abs().max().item(), 0, `${name}: generate() and run() give the same images`);
      assert.ok(r.cleanPred.eq(model.forward(images).argmax(1)).all().item(), `${name}: clean predictions`);
    }
    // The class range is still checked before any work, at the attack's first forward pass.
    assert.throws(() => new PGD(model, { steps: 1 }).generate(images, labels.add(10)), /class indices in \[0, 9\]/);
    assert.throws(() => new FGSM(model, { mode: 'targeted' }).generate(images, labels, labels.add(10)), /targets must be class indices/);
  });
});

test('run(..., { cleanLogits }): no clean pass of its own, the same result; bad logits are refused', () => {
  tidy(() => {
    const logits = model.forward(images);
    const spy = new ModeSpy(model);
    const r = new APGD(spy, { eps: 0.1, steps: 3 }).run(images, labels, undefined, { cleanLogits: logits });
    const spyAlone = new ModeSpy(model);
    const alone = new APGD(spyAlone, { eps: 0.1, steps: 3 }).run(images, labels);
    assert.equal(spy.seen.length, spyAlone.seen.length - 1, 'one forward pass fewer');
    assert.equal(r.adv.sub(alone.adv).abs().max().item(), 0);
    assert.ok(r.cleanPred.eq(alone.cleanPred).all().item());
    assert.throws(() => new FGSM(model).run(images, labels, undefined, { cleanLogits: logits.narrow(0, 0, 4) }), /cleanLogits must be a Tensor \[16, C\]/);
    assert.throws(() => new FGSM(model).run(images, labels.add(10), undefined, { cleanLogits: logits }), /class indices in \[0, 9\]/);
  });
});
