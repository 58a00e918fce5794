// APGD and APGD-T: the checkpoint schedule, the step-size controller, defining properties, early
// stopping, and robust accuracy against the plain-PyTorch version (python/reference.py).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import { hasPyTorch, runPython } from '@robusta/torch/testing';
import { type Tensor, tidy } from '@robusta/torch';
import { APGD, type ApgdCheckpoint, apgdCheckpoints } from '../../src/attacks/apgd.js';
import { APGDT } from '../../src/attacks/apgdt.js';
import { accuracy, loadMnist, MLP, readTensors, referencePrelude, trainedMnistModel, writeTensors } from './helpers.js';

const model = trainedMnistModel('mlp') as MLP;
const { images, labels } = loadMnist('t10k', 300, 64);

/** Robust accuracy of a result: clean-correct and still correct after the attack. */
const robustOf = (success: Tensor): number => tidy(() => 1 - success.to({ dtype: 'float32' }).mean().item());

test('checkpoints follow p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), w_j = ⌈p_j·N⌉', () => {
  const paper = (n: number): number[] => {
    // p in hundredths, so the recurrence is exact.
    const out: number[] = [];
    for (let prev = 0, p = 22; p <= 100; ) {
      out.push(Math.ceil((p * n) / 100));
      const next = p + Math.max(p - prev - 3, 6);
      prev = p;
      p = next;
    }
    return out;
  };
  assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
  assert.deepEqual(apgdCheckpoints(100), paper(100));
  assert.deepEqual(apgdCheckpoints(200), paper(200));
  assert.deepEqual(apgdCheckpoints(10), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('step size: starts at 2ε, changes only at checkpoints, and only by halving', () => {
  const eps = 0.05;
  const seen: ApgdCheckpoint[] = [];
  const atk = new APGD(model, { eps, steps: 100, earlyStop: false, onCheckpoint: (c) => seen.push(c) });
  tidy(() => atk.run(images, labels));
  assert.deepEqual(seen.map((c) => c.iteration), apgdCheckpoints(100));
  const current = new Map<number, number>();
  let halvings = 0;
  for (const c of seen) {
    c.indices.forEach((ex, i) => {
      const before = current.get(ex) ?? 2 * eps;
      const after = c.stepSizes[i]!;
      const expected = c.reduced[i] ? before / 2 : before;
      assert.ok(Math.abs(after - expected) <= 1e-7 * before, `example ${ex} at ${c.iteration}: η ${before} → ${after}, reduced=${c.reduced[i]}`);
      if (c.reduced[i]) halvings++;
      current.set(ex, after);
    });
  }
  assert.ok(halvings > 0, 'the controller never halved a step size');
  for (const eta of current.values()) {
    const m = Math.round(Math.log2((2 * eps) / eta));
    assert.ok(Math.abs(eta - (2 * eps) / 2 ** m) <= 1e-7, `η = ${eta} is not 2ε/2^m`);
  }
});

test('APGD (L∞, L2, CE, DLR, targeted): inside the ball, in [0, 1]; clean mistakes count as successes', () => {
  tidy(() => {
    // Four labels made wrong on purpose: those examples are already "fooled" and must come back as x.
    const wrong = labels.clone();
    wrong.narrow(0, 0, 4).copy_(labels.narrow(0, 0, 4).add(1).remainder(10));
    for (const [norm, eps] of [['Linf', 0.05], ['L2', 1.0]] as const) {
      for (const loss of ['ce', 'dlr'] as const) {
        const r = new APGD(model, { norm, eps, loss, steps: 20 }).run(images, wrong);
        const d = r.adv.sub(images).flatten(1);
        const size = norm === 'Linf' ? d.abs().amax(1) : d.norm(2, { dim: 1 });
        assert.ok(size.max().item() <= eps + 1e-5, `${norm}/${loss}: outside the ε-ball`);
        assert.ok(r.adv.min().item() >= 0 && r.adv.max().item() <= 1);
        assert.deepEqual(r.success.narrow(0, 0, 4).toFlatArray(), [1, 1, 1, 1]);
        assert.equal(r.adv.narrow(0, 0, 4).sub(images.narrow(0, 0, 4)).abs().max().item(), 0);
        assert.deepEqual(r.success.toFlatArray(), r.advPred.ne(wrong).toFlatArray());
      }
    }
    const targets = labels.add(1).remainder(10);
    const t = new APGD(model, { eps: 0.15, steps: 30, mode: 'targeted', loss: 'dlr' }).run(images, labels, targets);
    assert.deepEqual(t.success.toFlatArray(), t.advPred.eq(targets).toFlatArray());
    assert.ok(t.success.sum().item() > 32, 'targeted APGD-DLR at ε = 0.15 reaches few targets');
  });
});

test('early stopping: the same examples are fooled with and without it, with fewer forward passes', () => {
  for (const loss of ['ce', 'dlr'] as const) {
    const counts: number[] = [];
    const fooled = [true, false].map((earlyStop) => {
      const before = model.forwardExamples;
      const r = tidy(() => new APGD(model, { eps: 0.05, loss, steps: 50, earlyStop }).run(images, labels).success.toFlatArray());
      counts.push(model.forwardExamples - before);
      return r;
    });
    assert.deepEqual(fooled[0], fooled[1], `${loss}: early stopping changed which examples were fooled`);
    assert.ok(counts[0]! < counts[1]!, `${loss}: early stopping saved no forward passes (${counts[0]} vs ${counts[1]})`);
  }
});

test('more restarts and more target classes never lower the success rate', () => {
  tidy(() => {
    const one = new APGD(model, { eps: 0.04, steps: 10, nRestarts: 1 }).run(images, labels).success;
    const three = new APGD(model, { eps: 0.04, steps: 10, nRestarts: 3 }).run(images, labels).success;
    assert.equal(one.logicalAnd(three.logicalNot()).any().item(), 0, 'an example fooled with 1 restart resisted 3');
    const t1 = new APGDT(model, { eps: 0.04, steps: 10, nTargetClasses: 1 }).run(images, labels).success;
    const t3 = new APGDT(model, { eps: 0.04, steps: 10, nTargetClasses: 3 }).run(images, labels).success;
    assert.equal(t1.logicalAnd(t3.logicalNot()).any().item(), 0);
  });
});

// Same random starts (same generator, same draws) but robusta drops fooled examples from the batch,
// which changes GEMM shapes and so rounding: robust accuracies may differ by a point or two.
const TOLERANCE = 3 / 64;

test('robust accuracy matches plain-PyTorch APGD-CE, APGD-DLR, APGD-T and APGD-CE (L2) within 3/64', { skip: !hasPyTorch() }, () => {
  const runs = [
    { name: 'ce', ts: () => new APGD(model, { eps: 0.05, loss: 'ce' }), py: "apgd(M, x, y, 0.05, 'Linf', 100, 'ce')" },
    { name: 'dlr', ts: () => new APGD(model, { eps: 0.05, loss: 'dlr' }), py: "apgd(M, x, y, 0.05, 'Linf', 100, 'dlr')" },
    { name: 't', ts: () => new APGDT(model, { eps: 0.05, nTargetClasses: 3 }), py: "apgdt(M, x, y, 0.05, 'Linf', 100, 3)" },
    { name: 'l2', ts: () => new APGD(model, { eps: 1.0, norm: 'L2' }), py: "apgd(M, x, y, 1.0, 'L2', 100, 'ce')" },
  ];
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    runPython(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
x, y = T_['x'], T_['y']
M = make_model('mlp', T_)
out = {}
${runs.map((r) => `out['${r.name}'] = ${r.py}[0]`).join('\n')}
save_tensors(D, out)
OUTPUT = None
`);
    const ref = readTensors(dir);
    const clean = accuracy(model, images, labels);
    for (const r of runs) {
      const ours = tidy(() => robustOf(r.ts().run(images, labels).success));
      const theirs = tidy(() => ref[r.name]!.to({ dtype: 'float32' }).mean().item());
      if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`APGD ${r.name}: clean ${clean}, robusta ${ours}, PyTorch ${theirs}`);
      assert.ok(Math.abs(ours - theirs) <= TOLERANCE, `${r.name}: robust accuracy ${ours} vs PyTorch ${theirs}`);
      assert.ok(theirs < clean, `${r.name}: the attack fooled nothing — the comparison would be vacuous`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
