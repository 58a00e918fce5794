// APGD and APGD-T: the checkpoint schedule, the step-size controller, defining properties, early
// stopping, and per-example results and step sizes against the plain-PyTorch version (python/reference.py).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { type Tensor, tidy } from '@robusta/torch';
import { APGD, type ApgdCheckpoint, apgdCheckpoints } from '../../src/attacks/apgd.js';
import { APGDT } from '../../src/attacks/apgdt.js';
import { accuracy, loadMnist, MLP, readTensors, referencePrelude, trainedMnistModel, writeTensors } from './helpers.js';

const model = trainedMnistModel('mlp') as MLP;
const { images, labels } = loadMnist('t10k', 300, 64);

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

/** Examples where two bool/0-1 vectors differ. */
const disagreements = (a: number[], b: number[]): number[] => a.flatMap((v, i) => (v !== b[i] ? [i] : []));

// The same random starts (same generator, same draws, same libtorch, one thread) and the same operations
// on the same batch: without early stopping robusta's points are PyTorch's to rounding, per example.
// With early stopping robusta drops fooled examples from the batch, which changes GEMM shapes and so
// rounding; the set of fooled examples is still the same (at most one borderline example may differ).
test('per example, APGD-CE, APGD-DLR, APGD-T and APGD-CE (L2) fool the same examples as plain PyTorch, with the same points', { skip: pyTorchSkip() }, () => {
  const runs = [
    { name: 'ce', ts: (earlyStop: boolean) => new APGD(model, { eps: 0.05, loss: 'ce', earlyStop }), py: "apgd(M, x, y, 0.05, 'Linf', 100, 'ce')" },
    { name: 'dlr', ts: (earlyStop: boolean) => new APGD(model, { eps: 0.05, loss: 'dlr', earlyStop }), py: "apgd(M, x, y, 0.05, 'Linf', 100, 'dlr')" },
    { name: 't', ts: (earlyStop: boolean) => new APGDT(model, { eps: 0.05, nTargetClasses: 3, earlyStop }), py: "apgdt(M, x, y, 0.05, 'Linf', 100, 3)" },
    { name: 'l2', ts: (earlyStop: boolean) => new APGD(model, { eps: 1.0, norm: 'L2', earlyStop }), py: "apgd(M, x, y, 1.0, 'L2', 100, 'ce')" },
  ];
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    runPython(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
x, y = T_['x'], T_['y']
M = make_model('mlp', T_)
out = {}
${runs.map((r) => `out['${r.name}'], out['${r.name}_adv'] = ${r.py}`).join('\n')}
save_tensors(D, out)
OUTPUT = None
`);
    const ref = readTensors(dir);
    const clean = accuracy(model, images, labels);
    for (const r of runs) {
      const theirs = ref[r.name]!.toFlatArray();
      tidy(() => {
        const full = r.ts(false).run(images, labels);
        const ours = full.success.logicalNot().toFlatArray();
        assert.deepEqual(disagreements(ours, theirs), [], `${r.name}: examples robust in one and fooled in the other`);
        const gap = full.adv.sub(ref[`${r.name}_adv`]!).abs().max().item();
        assert.ok(gap <= 1e-5, `${r.name}: adversarial points differ from PyTorch's by ${gap}`);
        const early = r.ts(true).run(images, labels).success.logicalNot().toFlatArray();
        assert.ok(disagreements(early, theirs).length <= 1, `${r.name} with early stopping: ${disagreements(early, theirs).join(', ')} differ`);
      });
      const robust = theirs.reduce((a, b) => a + b, 0) / theirs.length;
      if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`APGD ${r.name}: clean ${clean}, robust ${robust}`);
      assert.ok(robust < clean - 0.1, `${r.name}: the attack fooled almost nothing — the comparison would be weak`);
    }
    for (const t of Object.values(ref)) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The step-size controller against the official condition 1 (autoattack's check_oscillation, whose
// first window compares f(x¹) with a zero entry): with 10 iterations the first window has 2 steps and
// the DLR loss of a correctly classified example is negative, so counting against f(x⁰) instead would
// change most first decisions.
test('step sizes at every checkpoint equal the official controller\'s (check_oscillation), per example', { skip: pyTorchSkip() }, () => {
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    for (const [loss, steps] of [['dlr', 10], ['ce', 10], ['dlr', 100]] as const) {
      const py = runPython<{ iteration: number[]; step: { data: number[] }[]; reduced: { data: number[] }[] }>(`${referencePrelude()}
T_ = load_tensors(${JSON.stringify(dir)})
x, y = T_['x'], T_['y']
M = make_model('mlp', T_)
torch.manual_seed(0)
keep = M(x).argmax(1) == y
xs, ys = x[keep], y[keep]
trace = []
apgd_single(M, xs, ys, 0.05, 'Linf', ${steps}, ce_objective(ys) if '${loss}' == 'ce' else (lambda z: dlr(z, ys)), trace=trace)
OUTPUT = {'iteration': [t[0] for t in trace], 'step': [t[1] for t in trace], 'reduced': [t[2] for t in trace]}
`);
      const seen: ApgdCheckpoint[] = [];
      tidy(() => new APGD(model, { eps: 0.05, loss, steps, earlyStop: false, onCheckpoint: (c) => seen.push(c) }).run(images, labels));
      assert.deepEqual(seen.map((c) => c.iteration), py.iteration, `${loss}/${steps}: checkpoints`);
      seen.forEach((c, j) => {
        assert.deepEqual(c.reduced.map(Number), py.reduced[j]!.data, `${loss}/${steps}: halved at checkpoint ${c.iteration}`);
        c.stepSizes.forEach((eta, i) => assert.ok(Math.abs(eta - py.step[j]!.data[i]!) <= 1e-9, `${loss}/${steps}: η of example ${c.indices[i]} at ${c.iteration}`));
      });
      assert.ok(seen.some((c) => c.reduced.some((r) => r)) && seen.some((c) => c.reduced.some((r) => !r)), 'both decisions occur');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
