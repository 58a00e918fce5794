// Square Attack: the p schedule, the query budget, defining properties of the L∞ and L2 versions, the
// default (AutoAttack's one window per iteration) per example against the official algorithm in plain
// PyTorch, and the per-image variant's robust accuracy against a per-image reference (python/reference.py).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { tidy } from '@robusta/torch';
import { Square, squareFraction } from '../../src/attacks/square.js';
import { accuracy, loadMnist, MLP, readTensors, referencePrelude, trainedMnistModel, writeTensors } from './helpers.js';

const model = trainedMnistModel('mlp') as MLP;
const { images, labels } = loadMnist('t10k', 500, 32);

test('p schedule: halved after iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of 10 000 (rescaled otherwise)', () => {
  const at = (i: number): number => squareFraction(i, 10000, 0.8, false);
  assert.equal(at(0), 0.8);
  assert.equal(at(10), 0.8);
  assert.equal(at(11), 0.4);
  assert.equal(at(50), 0.4);
  assert.equal(at(51), 0.2);
  assert.equal(at(201), 0.1);
  assert.equal(at(501), 0.05);
  assert.equal(at(1001), 0.025);
  assert.equal(at(2001), 0.8 / 64);
  assert.equal(at(4001), 0.8 / 128);
  assert.equal(at(6001), 0.8 / 256);
  assert.equal(at(8001), 0.8 / 512);
  assert.equal(at(9999), 0.8 / 512);
  // 1000 queries: iteration i behaves as iteration 10·i of the 10 000-query schedule.
  assert.equal(squareFraction(1, 1000, 0.8), 0.8);
  assert.equal(squareFraction(2, 1000, 0.8), 0.4);
  assert.equal(squareFraction(21, 1000, 0.8), 0.1);
  assert.equal(squareFraction(999, 1000, 0.8), 0.8 / 512);
});

test('query budget: the initial point plus at most nQueries proposals per restart; the model sees exactly the counted queries', () => {
  for (const windows of ['batch', 'example'] as const) {
    for (const norm of ['Linf', 'L2'] as const) {
      tidy(() => {
        const nQueries = 60;
        const perExample = (nQueries + 1) * 2;
        const before = model.forwardExamples;
        const r = new Square(model, { norm, windows, eps: norm === 'Linf' ? 0.05 : 1.0, nQueries, nRestarts: 2 }).run(images, labels);
        const q = r.queries!;
        assert.ok(q.max().item() <= perExample, `${windows}/${norm}: ${q.max().item()} queries for one example`);
        // run() makes one clean and one final forward pass per example; everything else is a counted query.
        assert.equal(model.forwardExamples - before, q.sum().item() + 2 * images.shape[0]!);
        // Fooled examples stop being queried; robust ones use the whole budget of both restarts.
        const robust = r.success.logicalNot().logicalAnd(r.cleanPred.eq(labels));
        assert.equal(q.maskedSelect(robust).eq(perExample).all().item(), 1);
        assert.equal(q.maskedSelect(r.cleanPred.ne(labels)).sum().item(), 0, 'clean mistakes were queried');
        assert.ok(q.maskedSelect(r.success.logicalAnd(r.cleanPred.eq(labels))).lt(perExample).any().item() === 1);
      });
    }
  }
});

test('L∞: every pixel is moved by exactly ±ε unless clipped to [0, 1]; L2: ||δ||₂ ≤ ε; success is real', () => {
  tidy(() => {
    const eps = 0.05;
    const r = new Square(model, { eps, nQueries: 300 }).run(images, labels);
    const attacked = r.cleanPred.eq(labels).reshape([-1, 1, 1, 1]).expandAs(images);
    const moved = r.adv.sub(images).abs();
    const exact = moved.sub(eps).abs().lt(1e-6).logicalOr(r.adv.eq(0)).logicalOr(r.adv.eq(1));
    // Successful examples and robust ones alike (robust ones come back as x, i.e. moved = 0 — excluded).
    const fooled = r.success.reshape([-1, 1, 1, 1]).expandAs(images).logicalAnd(attacked);
    assert.equal(exact.logicalOr(fooled.logicalNot()).all().item(), 1, 'a pixel moved by other than ±ε');
    assert.ok(moved.max().item() <= eps + 1e-6);
    assert.ok(r.success.sum().item() > 4, 'Square L∞ fooled almost nothing');
    assert.deepEqual(r.success.toFlatArray(), r.advPred.ne(labels).toFlatArray());

    const l2 = new Square(model, { norm: 'L2', eps: 1.5, nQueries: 300 }).run(images, labels);
    const n = l2.adv.sub(images).flatten(1).norm(2, { dim: 1 });
    assert.ok(n.max().item() <= 1.5 + 1e-4, `L2 norm ${n.max().item()} > ε`);
    assert.ok(l2.adv.min().item() >= 0 && l2.adv.max().item() <= 1);
    assert.ok(l2.success.sum().item() > 4, 'Square L2 fooled almost nothing');

    const targets = labels.add(1).remainder(10);
    const t = new Square(model, { eps: 0.2, nQueries: 300, mode: 'targeted' }).run(images, labels, targets);
    assert.deepEqual(t.success.toFlatArray(), t.advPred.eq(targets).toFlatArray());
    assert.ok(t.success.sum().item() > 8, 'targeted Square at ε = 0.2 reached few targets');
  });
});

// The default (one window per iteration for the whole batch, AutoAttack's square.py) against a plain
// PyTorch version of the official algorithm: the same seed gives the same draws, so per example the
// same examples are fooled, at the same points, after the same number of queries.
test('per example, Square L∞ and L2 (one window per iteration, as AutoAttack) equal the official algorithm in plain PyTorch', { skip: pyTorchSkip() }, () => {
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    runPython(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
M = make_model('mlp', T_)
out = {}
for nm, e in [('Linf', 0.06), ('L2', 1.2)]:
    out[nm], out[nm + '_adv'], out[nm + '_q'] = square_batch(M, T_['x'], T_['y'], e, nm, 1000, seed=3)
save_tensors(D, out)
OUTPUT = None
`);
    const ref = readTensors(dir);
    const clean = accuracy(model, images, labels);
    for (const [norm, eps] of [['Linf', 0.06], ['L2', 1.2]] as const) {
      tidy(() => {
        const r = new Square(model, { norm, eps, nQueries: 1000, seed: 3 }).run(images, labels);
        const ours = r.success.logicalNot().toFlatArray();
        const theirs = ref[norm]!.toFlatArray();
        assert.deepEqual(ours.flatMap((v, i) => (v !== theirs[i] ? [i] : [])), [], `${norm}: examples robust in one and fooled in the other`);
        const gap = r.adv.sub(ref[`${norm}_adv`]!).abs().max().item();
        assert.ok(gap <= 1e-6, `${norm}: adversarial points differ by ${gap}`);
        assert.deepEqual(r.queries!.toFlatArray(), ref[`${norm}_q`]!.toFlatArray(), `${norm}: queries per example`);
        const robust = theirs.reduce((a, b) => a + b, 0) / theirs.length;
        if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`Square ${norm}: clean ${clean}, robust ${robust}`);
        assert.ok(robust < clean - 0.1, `${norm}: the reference fooled too little for a meaningful comparison`);
      });
    }
    for (const t of Object.values(ref)) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// windows: 'example' draws per-example windows in another order than the per-image reference, so only
// robust accuracies compare: within 4/32 at 1000 queries.
const TOLERANCE = 4 / 32;

test('windows: \'example\': robust accuracy matches a plain-PyTorch per-image Square L∞ and L2 within 4/32', { skip: pyTorchSkip() }, () => {
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    runPython(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
M = make_model('mlp', T_)
save_tensors(D, {'Linf': square_linf_per_image(M, T_['x'], T_['y'], 0.06, 1000)[0], 'L2': square_l2_per_image(M, T_['x'], T_['y'], 1.2, 1000)[0]})
OUTPUT = None
`);
    const ref = readTensors(dir);
    const clean = accuracy(model, images, labels);
    for (const [norm, eps] of [['Linf', 0.06], ['L2', 1.2]] as const) {
      const ours = tidy(() => 1 - new Square(model, { norm, eps, nQueries: 1000, windows: 'example' }).run(images, labels).success.to({ dtype: 'float32' }).mean().item());
      const theirs = tidy(() => ref[norm]!.to({ dtype: 'float32' }).mean().item());
      if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`Square per image ${norm}: clean ${clean}, robusta ${ours}, PyTorch ${theirs}`);
      assert.ok(Math.abs(ours - theirs) <= TOLERANCE, `${norm}: robust accuracy ${ours} vs PyTorch ${theirs}`);
      assert.ok(theirs < clean - 0.1, `${norm}: the reference fooled too little for a meaningful comparison`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
