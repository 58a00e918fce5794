// MultiAttack: per example, the point of the first attack that fools the model, the later attacks
// run only on what is left; compared with the same deterministic attacks run on their own.
import assert from 'node:assert/strict';
import test from 'node:test';
import { tidy } from '@robusta/torch';
import { DeepFool } from '../../src/attacks/deepfool.js';
import { FGSM } from '../../src/attacks/fgsm.js';
import { MultiAttack } from '../../src/attacks/multiattack.js';
import { PGD } from '../../src/attacks/pgd.js';
import { loadMnist, MLP, trainedMnistModel } from './helpers.js';

const model = trainedMnistModel('mlp');
const { images, labels } = loadMnist('t10k', 600, 32);

test('MultiAttack keeps, per example, the first success of FGSM → PGD → DeepFool, and runs later attacks only on the rest', () => {
  tidy(() => {
    const fgsm = new FGSM(model, { eps: 0.05 });
    const pgd = new PGD(model, { eps: 0.1, alpha: 0.02, steps: 10, randomStart: false });
    // DeepFool rather than CW: CW's early stop looks at the batch's total loss, so a subset may stop elsewhere.
    const deepFool = new DeepFool(model, { steps: 50 });
    const start = model.forwardExamples;
    const alone = [fgsm, pgd, deepFool].map((a) => a.run(images, labels));
    const spentAlone = model.forwardExamples - start;
    const stages: number[] = [];
    const before = model.forwardExamples;
    const r = new MultiAttack([fgsm, pgd, deepFool], { onStage: (s) => stages.push(s.robust) }).run(images, labels);
    const spent = model.forwardExamples - before;

    const advRows = r.adv.flatten(1);
    let expectedLeft = images.shape[0]!;
    const left: number[] = [];
    const winners: (number | null)[] = [];
    for (let i = 0; i < images.shape[0]!; i++) {
      const k = alone.findIndex((a) => a.success.select(0, i).item() === 1);
      winners.push(k < 0 ? null : k);
      const want = k < 0 ? images.select(0, i).flatten() : alone[k]!.adv.select(0, i).flatten();
      // Attacks are per-example independent: the subset run equals the full run up to float rounding.
      // The matmul kernels round differently for another batch size, and DeepFool's 50 steps (each a
      // division by a gradient difference) carry it: measured up to 1.6e-5 on a pixel, so 1e-4.
      const gap = advRows.select(0, i).sub(want).abs().max().item();
      assert.ok(gap <= 1e-4, `example ${i}: MultiAttack's point differs from attack ${k}'s by ${gap}`);
    }
    for (let k = 0; k < 3; k++) {
      expectedLeft -= winners.filter((w) => w === k).length;
      left.push(expectedLeft);
    }
    assert.deepEqual(stages, left);
    assert.deepEqual(r.stages!.map((s) => s.attack), ['FGSM', 'PGD', 'DeepFool']);
    assert.deepEqual(r.success.toFlatArray(), winners.map((w) => (w === null ? 0 : 1)));
    assert.ok(winners.includes(1) && winners.includes(0), 'the check needs examples won by different attacks');
    // The later attacks saw only what was left: fewer forward passes than running all three on all.
    assert.ok(spent < spentAlone, `MultiAttack made ${spent} example-forwards, not fewer than the ${spentAlone} of running every attack on everything`);
  });
});

test('MultiAttack in targeted mode passes its targets to targeted attacks; modes and models are checked', () => {
  tidy(() => {
    const targets = labels.add(1).remainder(10);
    const a = new FGSM(model, { eps: 0.1, mode: 'targeted' });
    const b = new PGD(model, { eps: 0.2, alpha: 0.02, steps: 20, randomStart: false, mode: 'targeted' });
    const r = new MultiAttack([a, b], { mode: 'targeted' }).run(images, labels, targets);
    assert.deepEqual(r.success.toFlatArray(), r.advPred.eq(targets).toFlatArray());
    const alone = b.run(images, labels, targets).success.logicalOr(a.run(images, labels, targets).success);
    assert.deepEqual(r.success.toFlatArray(), alone.toFlatArray());
    assert.ok(r.success.sum().item() > 10);

    assert.throws(() => new MultiAttack([a, new PGD(model)], { mode: 'targeted' }), /in a targeted mode every attack must be in mode 'targeted'/);
    assert.throws(() => new MultiAttack([a]), /FGSM is in mode 'targeted' and needs targets/);
    assert.throws(() => new MultiAttack([new FGSM(model), new FGSM(MLP.init(9))]), /every attack must use the same model/);
    assert.throws(() => new MultiAttack([]), /non-empty array/);
  });
});
