// FAB and FAB-T: the box-constrained hyperplane projection against a bisection solver, defining
// properties, and robust accuracy against the plain-PyTorch version (python/reference.py).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { type Tensor, tidy } from '@robusta/torch';
import { projectOntoBoxedHyperplane } from '../../src/attacks/box-projection.js';
import { FAB } from '../../src/attacks/fab.js';
import { accuracy, loadMnist, maxDiff, MLP, readTensors, referencePrelude, trainedMnistModel, writeTensors } from './helpers.js';

const model = trainedMnistModel('mlp') as MLP;
const { images, labels } = loadMnist('t10k', 400, 32);

/** Points, hyperplane normals and offsets like FAB's: exact 0/1 coordinates, zero weights, offsets from small to unreachable. */
function projectionProblem(): { p: Tensor; w: Tensor; c: Tensor } {
  torch.manualSeed(0);
  const rows = 48;
  const d = 50;
  const p = torch.rand([rows, d]);
  p.narrow(0, 0, 8).narrow(1, 0, 10).fill_(0);
  p.narrow(0, 8, 8).narrow(1, 0, 10).fill_(1);
  const w = torch.randn([rows, d]);
  w.narrow(0, 16, 8).narrow(1, 0, 25).fill_(0);
  const c = torch.randn([rows]).mul(torch.linspace(0.1, 40, rows));
  return { p, w, c };
}

test('box-constrained projection: inside the box, on the hyperplane where it is reachable', () => {
  tidy(() => {
    const { p, w, c } = projectionProblem();
    for (const norm of ['Linf', 'L2'] as const) {
      const delta = projectOntoBoxedHyperplane(p, w, c, norm);
      const moved = p.add(delta);
      assert.ok(moved.min().item() >= -1e-6 && moved.max().item() <= 1 + 1e-6, `${norm}: left the box`);
      const reach = w.abs().mul(torch.where(w.gt(0), p.neg().add(1), p)).sum(1);
      const reachable = reach.ge(c.abs().add(1e-3));
      const residual = w.mul(delta).sum(1).sub(c).abs().maskedFill(reachable.logicalNot(), 0);
      assert.ok(residual.max().item() <= 1e-3 * (1 + c.abs().max().item()), `${norm}: not on the hyperplane`);
      assert.ok(reachable.logicalNot().any().item() === 1 && reachable.any().item() === 1, 'test data should mix both cases');
    }
  });
});

test('box-constrained projection: as short as a bisection solver finds (plain PyTorch)', { skip: pyTorchSkip() }, () => {
  tidy(() => {
    const { p, w, c } = projectionProblem();
    const dir = writeTensors({ p, w, c });
    try {
      runPython(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
save_tensors(D, {'Linf': box_hyperplane_projection(T_['p'], T_['w'], T_['c'], 'Linf'),
                 'L2': box_hyperplane_projection(T_['p'], T_['w'], T_['c'], 'L2')})
OUTPUT = None
`);
      const ref = readTensors(dir);
      for (const norm of ['Linf', 'L2'] as const) {
        const delta = projectOntoBoxedHyperplane(p, w, c, norm);
        assert.ok(maxDiff(delta, ref[norm]!) <= 1e-4, `${norm}: differs from the bisection solution by ${maxDiff(delta, ref[norm]!)}`);
      }
      for (const t of Object.values(ref)) t.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('FAB / FAB-T (L∞, L2): inside the ε-ball, in [0, 1], clean mistakes count as successes, targeted mode', () => {
  tidy(() => {
    const wrong = labels.clone();
    wrong.narrow(0, 0, 3).copy_(labels.narrow(0, 0, 3).add(1).remainder(10));
    for (const [norm, eps] of [['Linf', 0.06], ['L2', 1.0]] as const) {
      for (const multiTargeted of [false, true]) {
        const r = new FAB(model, { norm, eps, steps: 10, multiTargeted, nTargetClasses: 3 }).run(images, wrong);
        const d = r.adv.sub(images).flatten(1);
        const size = norm === 'Linf' ? d.abs().amax(1) : d.norm(2, { dim: 1 });
        assert.ok(size.max().item() <= eps + 1e-5, `${norm}: outside the ε-ball`);
        assert.ok(r.adv.min().item() >= 0 && r.adv.max().item() <= 1);
        assert.deepEqual(r.success.narrow(0, 0, 3).toFlatArray(), [1, 1, 1]);
        assert.ok(r.success.sum().item() > 3, `${norm}: FAB fooled nothing`);
        // Examples not fooled come back unchanged.
        const unchanged = size.eq(0);
        assert.equal(r.success.logicalOr(unchanged).all().item(), 1);
      }
    }
    const targets = labels.add(1).remainder(10);
    const t = new FAB(model, { eps: 0.2, steps: 20, mode: 'targeted' }).run(images, labels, targets);
    assert.deepEqual(t.success.toFlatArray(), t.advPred.eq(targets).toFlatArray());
    assert.ok(t.success.sum().item() > 8, 'targeted FAB at ε = 0.2 reached few targets');
  });
});

test('FAB finds smaller perturbations with more iterations (it minimises the distortion)', () => {
  tidy(() => {
    const dist = (steps: number): Tensor => {
      const r = new FAB(model, { eps: 1, steps }).run(images, labels);
      return r.adv.sub(images).flatten(1).abs().amax(1).maskedFill(r.success.logicalNot(), 0);
    };
    const short = dist(3);
    const long = dist(30);
    assert.ok(long.sum().item() < short.sum().item(), 'no decrease of the total L∞ distortion from 3 to 30 iterations');
  });
});

// robusta projects exactly (sort + prefix sums, float32), the reference by bisection in float64, so
// trajectories differ by rounding only: per example, the same examples are fooled and the distances
// FAB found (the quantity it minimises) agree to 1e-3 relative.
test('per example, FAB (L∞), FAB-T (L∞) and FAB (L2) fool the same examples as plain PyTorch, at the same distances', { skip: pyTorchSkip() }, () => {
  const runs = [
    { name: 'linf', p: Infinity, ts: () => new FAB(model, { eps: 0.05, steps: 30 }), py: "fab(M, x, y, 0.05, 'Linf', 30)" },
    { name: 't', p: Infinity, ts: () => new FAB(model, { eps: 0.05, steps: 30, multiTargeted: true, nTargetClasses: 3 }), py: "fab(M, x, y, 0.05, 'Linf', 30, multi_targeted=True, n_target=3)" },
    { name: 'l2', p: 2, ts: () => new FAB(model, { eps: 1.0, norm: 'L2', steps: 30, nRestarts: 2 }), py: "fab(M, x, y, 1.0, 'L2', 30, 2)" },
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
      tidy(() => {
        const result = r.ts().run(images, labels);
        const ours = result.success.logicalNot().toFlatArray();
        const theirs = ref[r.name]!.toFlatArray();
        const differ = ours.flatMap((v, i) => (v !== theirs[i] ? [i] : []));
        assert.deepEqual(differ, [], `${r.name}: examples robust in one and fooled in the other`);
        const distance = (adv: Tensor): number[] => {
          const d = adv.sub(images).flatten(1);
          return (r.p === Infinity ? d.abs().amax(1) : d.norm(2, { dim: 1 })).toFlatArray();
        };
        const mine = distance(result.adv);
        const want = distance(ref[`${r.name}_adv`]!);
        mine.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-3 * want[i]! + 1e-6,
          `${r.name}, example ${i}: distance ${v} vs PyTorch ${want[i]}`));
        const robust = theirs.reduce((a, b) => a + b, 0) / theirs.length;
        if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`FAB ${r.name}: clean ${clean}, robust ${robust}`);
        assert.ok(robust < clean - 0.1, `${r.name}: the attack fooled almost nothing — the comparison would be weak`);
      });
    }
    for (const t of Object.values(ref)) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
