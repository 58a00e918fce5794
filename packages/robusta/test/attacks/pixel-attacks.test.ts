// OnePixel (differential evolution) and Pixle draw from their own random streams in an order no
// Python implementation shares (SciPy and torchattacks draw from numpy), so they are checked by their
// defining properties: the L0 structure of their perturbations, [0, 1], query counts equal to the
// model's own count of evaluations, seeded repeatability, and success on models that a correct search
// must fool.
import assert from 'node:assert/strict';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { type Tensor, tidy } from '@robusta/torch';
import { differentialEvolution } from '../../src/attacks/differential-evolution.js';
import { OnePixel } from '../../src/attacks/onepixel.js';
import { Pixle } from '../../src/attacks/pixle.js';
import { CountingClassifier, loadMnist, maxDiff, trainedMnistModel } from './helpers.js';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';

/** Class 0 for dark images; one bright pixel anywhere makes class 1 win (z₁ = 5·Σx, z₀ = 1). */
class BrightnessModel extends CountingClassifier {
  protected logits(x: Tensor): Tensor {
    const s = x.flatten(1).sum(1, true).mul(5);
    return torch.cat([torch.onesLike(s), s, s.mul(0.5).add(0.2)], 1);
  }
}

/** Class 1 only if pixel (row 3, column 5) is bright: z = [1, 10·x₃₅ · (mean over channels)]. */
class OnePlaceModel extends CountingClassifier {
  protected logits(x: Tensor): Tensor {
    const p = x.select(2, 3).select(2, 5).mean(1, true).mul(10);
    return torch.cat([torch.onesLike(p), p], 1);
  }
}

/** Pixels (positions) of each example where any channel differs, [N]. */
function changedPixels(a: Tensor, b: Tensor): number[] {
  return tidy(() => a.ne(b).any(1).flatten(1).sum(1).toFlatArray());
}

// SciPy's solver with the same settings on the same bowl, over 200 seeds: the distribution of the final
// error must match (a broken mutation, crossover or selection converges at another rate).
test('differential evolution: the final error distribution on a 3-d bowl matches SciPy\'s best1bin with the same settings', { skip: pyTorchSkip() }, () => {
  const scipy = runPython<number[]>(`
import numpy as np
from scipy.optimize import differential_evolution as de
c = np.array([0.2, 0.7, 0.4])
errs = [float(np.sqrt(de(lambda v: ((v - c) ** 2).sum(), [(0, 1)] * 3, strategy='best1bin', popsize=4, mutation=(0.5, 1),
        recombination=1, init='random', maxiter=60, tol=0, atol=-1, polish=False, seed=s).fun)) for s in range(200)]
OUTPUT = sorted(errs)
`);
  tidy(() => {
    torch.manualSeed(0);
    const centre = torch.tensor([0.2, 0.7, 0.4]);
    let calls = 0;
    const r = differentialEvolution({
      problems: 400, dims: 3, members: 12, generations: 60,
      evaluate: (cand) => {
        calls++;
        const energy = cand.sub(centre).square().sum(2);
        return { energy, solved: energy.lt(-1) };
      },
    });
    assert.equal(calls, 61);
    assert.equal(r.evaluations.eq(12 * 61).all().item(), 1);
    const ours = r.energy.sqrt().toFlatArray().sort((a, b) => a - b);
    const quantile = (a: number[], q: number): number => a[Math.floor(q * (a.length - 1))]!;
    for (const q of [0.25, 0.5, 0.75]) {
      const ratio = quantile(ours, q) / quantile(scipy, q);
      if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`DE error quantile ${q}: robusta ${quantile(ours, q)}, SciPy ${quantile(scipy, q)}`);
      assert.ok(ratio > 0.4 && ratio < 2.5, `quantile ${q} of the final error: robusta ${quantile(ours, q)} vs SciPy ${quantile(scipy, q)}`);
    }
    r.evaluations.dispose();
  });
});

test('OnePixel: changes at most `pixels` pixels, values in [0, 1], queries as counted by the model, stops once fooled', () => {
  const model = new BrightnessModel();
  tidy(() => {
    const images = torch.zeros([6, 3, 8, 8]);
    const labels = torch.zeros([6], { dtype: 'int64' });
    const before = model.forwardExamples;
    const r = new OnePixel(model, { pixels: 1, steps: 20, popsize: 10, seed: 3 }).run(images, labels);
    assert.equal(r.success.all().item(), 1, 'one bright pixel fools this model; the search must find one');
    for (const k of changedPixels(r.adv, images)) assert.ok(k <= 1, `${k} pixels changed`);
    assert.ok(r.adv.min().item() >= 0 && r.adv.max().item() <= 1);
    // D = 1·(2 + 3) = 5 parameters → ⌊10/5⌋·5 = 10 members; stopped after the first generation.
    assert.deepEqual(r.queries!.toFlatArray(), new Array(6).fill(20));
    assert.equal(model.forwardExamples - before, r.queries!.sum().item() + 2 * 6);

    // Targeted: class 2 (z₂ = 2.5·Σx + 0.2) never wins against class 1 with one pixel; the budget is used in full.
    const t = new OnePixel(model, { steps: 5, seed: 3, mode: 'targeted' }).run(images, labels, torch.full([6], 2, { dtype: 'int64' }));
    assert.equal(t.success.any().item(), 0);
    assert.deepEqual(t.queries!.toFlatArray(), new Array(6).fill(10 * 6));
  });
});

test('OnePixel on an MNIST MLP: L0 ≤ pixels, seeded runs repeat, clean mistakes and robust examples use the whole budget', () => {
  const model = trainedMnistModel('mlp');
  const { images, labels } = loadMnist('t10k', 400, 16);
  tidy(() => {
    const attack = (seed: number) => new OnePixel(model, { pixels: 3, steps: 8, popsize: 20, seed }).run(images, labels);
    const r = attack(4);
    for (const k of changedPixels(r.adv, images)) assert.ok(k <= 3);
    assert.equal(maxDiff(attack(4).adv, r.adv), 0, 'a seeded run did not repeat');
    assert.ok(maxDiff(attack(5).adv, r.adv) > 0);
    // D = 3·3 = 9 → ⌊20/9⌋·9 = 18 members: 18 per generation plus the initial population.
    const q = r.queries!.toFlatArray();
    r.success.toFlatArray().forEach((ok, i) => {
      if (!ok) assert.equal(q[i], 18 * 9, `example ${i} not fooled but stopped early`);
      else assert.ok(q[i]! <= 18 * 9);
    });
    assert.deepEqual(r.success.toFlatArray(), r.advPred.ne(labels).toFlatArray());
  });
});

test('Pixle: adversarial pixels are the image\'s own pixels moved, queries = 1 + candidates, success where a search must succeed', () => {
  const model = new OnePlaceModel();
  tidy(() => {
    // Bright left half, dark right half: class 0; a bright pixel copied to (3, 5) makes class 1.
    const images = torch.zeros([4, 1, 8, 8]);
    images.narrow(3, 0, 4).fill_(1);
    const labels = torch.zeros([4], { dtype: 'int64' });
    const before = model.forwardExamples;
    const r = new Pixle(model, { restarts: 30, maxIterations: 10, seed: 2 }).run(images, labels);
    assert.equal(r.success.all().item(), 1, 'Pixle did not find the one place that matters');
    assert.ok(r.queries!.max().item() <= 1 + 300);
    assert.equal(model.forwardExamples - before, r.queries!.sum().item() + 2 * 4);
    for (const mapping of ['similarity', 'distance', 'similarity_random', 'distance_random'] as const) {
      const m = new Pixle(model, { restarts: 30, maxIterations: 10, pixelMapping: mapping, seed: 2 }).run(images, labels);
      // The random mappings reach (3, 5); the deterministic ones need not ('similarity' copies bright
      // pixels onto bright ones, 'distance' always onto the first dark place in row-major order).
      if (mapping.endsWith('_random')) assert.equal(m.success.all().item(), 1, `${mapping}: no success`);
      assert.equal(m.adv.eq(0).logicalOr(m.adv.eq(1)).all().item(), 1, `${mapping}: a value that is not one of the image's pixels`);
    }
  });
});

test('Pixle on MNIST: every pixel of an adversarial image is one of its clean pixels; update_each_iteration; targeted; repeatable', () => {
  const model = trainedMnistModel('mlp');
  const { images, labels } = loadMnist('t10k', 500, 8);
  tidy(() => {
    for (const updateEachIteration of [false, true]) {
      const r = new Pixle(model, { restarts: 5, maxIterations: 8, updateEachIteration, seed: 1 }).run(images, labels);
      const adv = r.adv.flatten(1).toFlatArray();
      const clean = images.flatten(1).toFlatArray();
      for (let i = 0; i < 8; i++) {
        const own = new Set(clean.slice(i * 784, (i + 1) * 784));
        for (const v of adv.slice(i * 784, (i + 1) * 784)) assert.ok(own.has(v), `example ${i}: value ${v} is not one of its pixels`);
      }
      const budget = 1 + (updateEachIteration ? 8 : 5 * 8);
      const q = r.queries!.toFlatArray();
      r.success.toFlatArray().forEach((ok, i) => assert.ok(ok ? q[i]! <= budget : q[i] === budget, `example ${i}: ${q[i]} queries`));
      assert.equal(maxDiff(new Pixle(model, { restarts: 5, maxIterations: 8, updateEachIteration, seed: 1 }).run(images, labels).adv, r.adv), 0);
    }
    const targets = labels.add(1).remainder(10);
    const t = new Pixle(model, { restarts: 10, maxIterations: 10, mode: 'targeted', seed: 1 }).run(images, labels, targets);
    assert.deepEqual(t.success.toFlatArray(), t.advPred.eq(targets).toFlatArray());
  });
});

test('Pixle and OnePixel check their options', () => {
  const model = new BrightnessModel();
  assert.throws(() => new Pixle(model, { pixelMapping: 'nearest' as never }), /Pixle: pixelMapping must be one of random, similarity/);
  assert.throws(() => new Pixle(model, { xDimensions: [2.5, 3] }), /Pixle: xDimensions must hold pixel counts/);
  assert.throws(() => new OnePixel(model, { pixels: 0 }), /OnePixel: pixels must be >= 1/);
  assert.throws(() => tidy(() => new OnePixel(model).run(torch.zeros([2, 4]), torch.zeros([2], { dtype: 'int64' }))), /OnePixel: images must be \[N, C, H, W\]/);
});
