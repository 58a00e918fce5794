// Evaluation: the robust generalization gap and the RobustBench-style report, checked on a linear
// toy model whose robust accuracy is known in closed form (for logits ±(w·x + b), the worst L∞
// perturbation lowers the margin s·(w·x + b) by ε‖w‖₁, and PGD/FGSM reach it exactly).
import test from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as torch from '@robusta/torch';
import { type Tensor } from '@robusta/torch';
import { Linear, Sequential, Flatten } from '../../src/nn/index.js';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { benchmarkRobustness, epsString, pgdAccuracy, robustGeneralizationGap } from '../../src/eval/index.js';
import { referencePrelude } from '../attacks/helpers.js';

// One intra-op thread: test files run side by side on few cores, where libtorch's spinning threads oversubscribe.
torch.setNumThreads(1);

const W = [1.5, -1, 0.5, 0];
const B = -0.5;
const EPS = 0.1;
const L1 = W.reduce((s, v) => s + Math.abs(v), 0);

/** Logits [−(w·x + b), w·x + b]: class 1 iff w·x + b > 0. */
function linearToy(): Linear {
  const m = new Linear(4, 2);
  m.loadStateDict(new Map([
    ['weight', torch.tensor([W.map((v) => -v), W])],
    ['bias', torch.tensor([-B, B])],
  ]));
  m.eval();
  return m;
}

interface Toy { x: Tensor; y: Tensor; clean: boolean[]; robust: boolean[] }

/**
 * n points in [0.2, 0.8]^4 (so the box never binds at ε = 0.1); `robustShare` of them robust. A point
 * is robust iff correctly classified with margin s·(w·x + b) > ε‖w‖₁; points within 1e-3 of the
 * threshold are redrawn so float rounding cannot decide.
 */
function toyData(n: number, robustShare: number, wrongShare: number, seed: number): Toy {
  let state = seed;
  const rand = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const xs: number[][] = [];
  const ys: number[] = [];
  const clean: boolean[] = [];
  const robust: boolean[] = [];
  while (xs.length < n) {
    const x = W.map(() => 0.2 + 0.6 * rand());
    const f = x.reduce((s, v, i) => s + v * W[i]!, B);
    if (Math.abs(Math.abs(f) - EPS * L1) < 1e-3 || Math.abs(f) < 1e-3) continue;
    const isRobust = Math.abs(f) > EPS * L1;
    const i = xs.length;
    const wantRobust = i < robustShare * n;
    const wantWrong = !wantRobust && i >= n - wrongShare * n;
    if (wantRobust !== isRobust && !wantWrong) continue;
    const label = (f > 0) !== wantWrong ? 1 : 0;
    xs.push(x);
    ys.push(label);
    clean.push(!wantWrong);
    robust.push(!wantWrong && isRobust);
  }
  return { x: torch.keep(torch.tensor(xs)), y: torch.keep(torch.tensor(ys, { dtype: 'int64' })), clean, robust };
}

const mean = (a: boolean[]): number => a.filter(Boolean).length / a.length;

test('robust generalization gap = PGD-10 accuracy on the first N train examples − on the first N test examples', () => {
  const model = linearToy();
  const train = toyData(80, 0.7, 0.1, 1);
  const testSet = toyData(80, 0.3, 0.2, 2);
  // Beyond the first N = 60 training examples come 20 that are all misclassified: they must not count.
  const trainExtra = toyData(20, 0, 1, 3);
  const trainAll = { x: torch.keep(torch.cat([train.x, trainExtra.x])), y: torch.keep(torch.cat([train.y, trainExtra.y])) };
  const rngBefore = Buffer.from(torch.getRngState().data().buffer.slice(0));
  const gap = robustGeneralizationGap(model, trainAll, testSet, { n: 60, eps: EPS });
  assert.ok(Buffer.from(torch.getRngState().data().buffer.slice(0)).equals(rngBefore), 'the evaluation moved torch\'s random stream');
  const expTrain = mean(train.robust.slice(0, 60));
  const expTest = mean(testSet.robust.slice(0, 60));
  assert.equal(gap.trainExamples, 60);
  assert.equal(gap.testExamples, 60);
  assert.equal(gap.trainRobustAccuracy, expTrain);
  assert.equal(gap.testRobustAccuracy, expTest);
  assert.equal(gap.robustGap, expTrain - expTest);
  assert.ok(gap.robustGap > 0.3, `a toy with a large gap, got ${gap.robustGap}`);
  assert.equal(gap.trainCleanAccuracy, mean(train.clean.slice(0, 60)));
  assert.equal(gap.cleanGap, mean(train.clean.slice(0, 60)) - mean(testSet.clean.slice(0, 60)));
  assert.deepEqual(gap.attack, { norm: 'Linf', eps: EPS, steps: 10, alpha: 0.025 });
  // Default N = 1000 takes everything here (fewer examples): the extra misclassified ones now count.
  const all = robustGeneralizationGap(model, trainAll, testSet, { eps: EPS });
  assert.equal(all.trainExamples, 100);
  assert.equal(all.trainRobustAccuracy, (train.robust.filter(Boolean).length) / 100);
  torch.dispose([train, testSet, trainExtra, trainAll].map((d) => [d.x, d.y]));
  model.dispose();
});

test('benchmark: clean, FGSM and PGD accuracy in a table and a RobustBench entry (linear toy, exact values)', () => {
  const model = linearToy();
  const data = toyData(50, 0.5, 0.2, 4);
  const r = benchmarkRobustness(model, data, { modelName: 'linear-toy', dataset: 'toy', eps: EPS, attacks: ['fgsm', 'pgd'], batchSize: 16 });
  assert.equal(r.examples, 50);
  assert.equal(r.cleanAccuracy, mean(data.clean));
  assert.equal(r.robustAccuracy.FGSM, mean(data.robust));
  assert.equal(r.robustAccuracy['PGD-10'], mean(data.robust));
  assert.equal(r.worstCaseAccuracy, mean(data.robust));
  assert.deepEqual(r.robustbench, {
    name: 'linear-toy', dataset: 'toy', threat_model: 'Linf', eps: '0.1',
    clean_acc: (100 * mean(data.clean)).toFixed(2), autoattack_acc: null,
    fgsm_acc: (100 * mean(data.robust)).toFixed(2), pgd_acc: (100 * mean(data.robust)).toFixed(2), pgd_steps: 10,
    n_examples: 50, additional_data: false, number_forward_passes: 1,
  });
  assert.match(r.table, /^linear-toy on toy, Linf ε = 0\.1, n = 50\n/);
  assert.match(r.table, /Clean +\| +80\.00%/);
  assert.match(r.table, /PGD-10 +\| +50\.00%/);
  torch.dispose([data.x, data.y]);
  model.dispose();
});

test('benchmark checkpoint (eval --resume): interrupted after a batch, resumed, it reports what an uninterrupted run reports', () => {
  torch.manualSeed(6);
  const model = new Sequential(new Flatten(), new Linear(36, 5));
  const x = torch.rand([40, 1, 6, 6]);
  const y = torch.tidy(() => model.forward(x).argmax(1).remainder(3)); // some wrong when clean
  const dir = mkdtempSync(join(tmpdir(), 'robusta-bench-'));
  const options = { eps: 4 / 255, attacks: ['fgsm', 'pgd', 'autoattack'] as ('fgsm' | 'pgd' | 'autoattack')[], batchSize: 16, autoAttack: { steps: 3, nQueries: 10 } };
  try {
    const straight = benchmarkRobustness(model, { x, y }, options);
    const checkpointPath = join(dir, 'progress.json');
    const crash = new Error('simulated crash');
    assert.throws(() => benchmarkRobustness(model, { x, y }, { ...options, checkpointPath, onProgress: (p) => { if (p.batch === 2) throw crash; } }),
      (e) => e === crash);
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(checkpointPath, 'utf8')) as { batches: object }).batches), ['0', '1']);
    const resumed: boolean[] = [];
    const again = benchmarkRobustness(model, { x, y }, { ...options, checkpointPath, onProgress: (p) => resumed.push(p.resumed) });
    assert.deepEqual(resumed, [true, true, false]);
    assert.deepEqual([again.cleanAccuracy, again.robustAccuracy, again.worstCaseAccuracy], [straight.cleanAccuracy, straight.robustAccuracy, straight.worstCaseAccuracy]);
    assert.ok(straight.robustAccuracy.AutoAttack! < straight.cleanAccuracy, 'the attacks fooled nothing');
    assert.ok(existsSync(checkpointPath));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    torch.dispose([x, y]);
    model.dispose();
  }
});

test('benchmark with AutoAttack (reduced budget) on a 5-class net: AA equals the plain-PyTorch AutoAttack pipeline, L2 threat model, typed errors', { skip: pyTorchSkip() }, () => {
  torch.manualSeed(5);
  const model = new Sequential(new Flatten(), new Linear(36, 5));
  const x = torch.rand([40, 1, 6, 6]);
  const y = torch.tidy(() => model.forward(x).argmax(1)); // all correct when clean
  const r = benchmarkRobustness(model, { x, y }, {
    modelName: 'm', dataset: 'cifar10', eps: 8 / 255, n: 40, attacks: ['pgd', 'autoattack'], pgdSteps: 5,
    autoAttack: { steps: 5, nQueries: 20 },
  });
  assert.equal(r.cleanAccuracy, 1);
  // The same pipeline (APGD-CE → APGD-T → FAB-T → Square, seed 0, 4 target classes) in plain PyTorch.
  const weights = model.stateDict();
  const ref = runPython<{ robust: number; stages: number[] }>(`${referencePrelude()}
W, b = T(INPUT['w']), T(INPUT['b'])
robust, _, stages = autoattack(lambda v: F.linear(v.flatten(1), W, b), T(INPUT['x']), T(INPUT['y']), 8 / 255, 'Linf', 5, 9, 20)
OUTPUT = {'robust': int(robust.sum()), 'stages': stages}
`, { w: weights.get('1.weight')!, b: weights.get('1.bias')!, x, y });
  torch.dispose([...weights.values()]);
  if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`AutoAttack stages ${ref.stages.join(", ")}`);
  assert.equal(r.robustAccuracy.AutoAttack, ref.robust / 40, `AutoAttack ${r.robustAccuracy.AutoAttack} vs PyTorch ${ref.robust}/40 (stages ${ref.stages.join(', ')})`);
  assert.ok(ref.robust < 40 && ref.stages[0]! > ref.robust, `AutoAttack fooled ${40 - ref.robust} of 40, its later stages ${ref.stages[0]! - ref.robust}: a weak check`);
  assert.ok(r.worstCaseAccuracy <= Math.min(r.robustAccuracy.AutoAttack!, r.robustAccuracy['PGD-5']!));
  assert.equal(r.robustbench.eps, '8/255');
  assert.equal(r.robustbench.autoattack_acc, (100 * r.robustAccuracy.AutoAttack!).toFixed(2));
  const l2 = benchmarkRobustness(model, { x, y }, { threatModel: 'L2', attacks: ['fgsm', 'pgd'] });
  assert.equal(l2.eps, 0.5);
  assert.equal(l2.robustbench.threat_model, 'L2');
  assert.equal(l2.robustbench.eps, '0.5');
  assert.equal(epsString(4 / 255), '4/255');
  assert.throws(() => benchmarkRobustness(model, { x, y }, { attacks: ['cw' as 'pgd'] }), RangeError);
  assert.throws(() => benchmarkRobustness(model, { x, y }, { eps: -1 }), RangeError);
  assert.throws(() => pgdAccuracy(model, { x, y: y.float() }), TypeError);
  assert.throws(() => pgdAccuracy(model, { x, y }, { n: 0 }), RangeError);
  torch.dispose([x, y]);
  model.dispose();
});
