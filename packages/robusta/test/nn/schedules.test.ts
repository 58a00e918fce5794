// Learning-rate schedules give PyTorch 1.13's values epoch by epoch (two parameter groups, momentum
// and β₁ cycling included), compose (warm-up then another schedule), and resume from state dicts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { zeros } from '@robusta/torch';
import { pyTorchSkip } from '@robusta/torch/testing';
import {
  Adam, CosineAnnealingLR, ExponentialLR, LinearLR, linearWarmup, type LRScheduler, MultiStepLR, OneCycleLR, SequentialLR, SGD, StepLR,
} from '../../src/optim/index.js';
import { once, runPy } from './support/python.js';

type Opt = SGD | Adam;
interface Case {
  name: string;
  epochs: number;
  py: string;
  make: (opt: Opt) => LRScheduler;
  adam?: boolean;
}

const CASES: Case[] = [
  { name: 'StepLR', epochs: 20, py: 'S.StepLR(opt, step_size=3, gamma=0.5)', make: (o) => new StepLR(o, { stepSize: 3, gamma: 0.5 }) },
  { name: 'MultiStepLR', epochs: 16, py: 'S.MultiStepLR(opt, milestones=[3, 7, 7, 12], gamma=0.1)', make: (o) => new MultiStepLR(o, { milestones: [3, 7, 7, 12] }) },
  { name: 'ExponentialLR', epochs: 12, py: 'S.ExponentialLR(opt, gamma=0.9)', make: (o) => new ExponentialLR(o, { gamma: 0.9 }) },
  {
    name: 'CosineAnnealingLR', epochs: 30, py: 'S.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)',
    make: (o) => new CosineAnnealingLR(o, { tMax: 10, etaMin: 0.001 }),
  },
  {
    name: 'LinearLR', epochs: 8, py: 'S.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=4)',
    make: (o) => new LinearLR(o, { startFactor: 0.25, totalIters: 4 }),
  },
  {
    name: 'OneCycleLR', epochs: 25, py: 'S.OneCycleLR(opt, max_lr=[0.5, 0.1], total_steps=25)',
    make: (o) => new OneCycleLR(o, { maxLr: [0.5, 0.1], totalSteps: 25 }),
  },
  {
    name: 'OneCycleLR-adam', epochs: 20, adam: true, py: 'S.OneCycleLR(opt, max_lr=0.01, total_steps=20, pct_start=0.4, base_momentum=0.8, max_momentum=0.9)',
    make: (o) => new OneCycleLR(o, { maxLr: 0.01, totalSteps: 20, pctStart: 0.4, baseMomentum: 0.8, maxMomentum: 0.9 }),
  },
  {
    name: 'OneCycleLR-three-phase', epochs: 20,
    py: 'S.OneCycleLR(opt, max_lr=0.2, epochs=2, steps_per_epoch=10, pct_start=0.25, div_factor=10, final_div_factor=100, three_phase=True, cycle_momentum=False, anneal_strategy="linear")',
    make: (o) => new OneCycleLR(o, {
      maxLr: 0.2, epochs: 2, stepsPerEpoch: 10, pctStart: 0.25, divFactor: 10, finalDivFactor: 100, threePhase: true, cycleMomentum: false,
      annealStrategy: 'linear',
    }),
  },
  {
    name: 'SequentialLR', epochs: 25,
    py: 'S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=5), S.CosineAnnealingLR(opt, T_max=15)], milestones=[5])',
    make: (o) => new SequentialLR(o, [new LinearLR(o, { startFactor: 0.1, totalIters: 5 }), new CosineAnnealingLR(o, { tMax: 15 })], [5]),
  },
  {
    name: 'linearWarmup', epochs: 16,
    py: 'S.SequentialLR(opt, [S.LinearLR(opt, start_factor=1/3, total_iters=4), S.MultiStepLR(opt, milestones=[5, 8], gamma=0.5)], milestones=[4])',
    make: (o) => linearWarmup(o, { warmupSteps: 4 }, (opt) => new MultiStepLR(opt, { milestones: [5, 8], gamma: 0.5 })),
  },
];

const SCRIPT = `
import warnings
warnings.filterwarnings('ignore')
import torch.optim.lr_scheduler as S
out = {}
for c in INPUT:
    groups = [{'params': [torch.zeros(1, requires_grad=True)]}, {'params': [torch.zeros(1, requires_grad=True)], 'lr': 0.02}]
    opt = torch.optim.Adam(groups, lr=0.1) if c['adam'] else torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    sched = eval(c['py'])
    def momenta():
        return [g['betas'][0] if c['adam'] else g['momentum'] for g in opt.param_groups]
    lrs, mom = [sched.get_last_lr()], [momenta()]
    for e in range(c['epochs']):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        mom.append(momenta())
    out[c['name']] = {'lrs': lrs, 'momenta': mom}
OUTPUT = out
`;

const skip = pyTorchSkip();
const reference = once(() => runPy<Record<string, { lrs: number[][]; momenta: number[][] }>>(SCRIPT,
  CASES.map((c) => ({ name: c.name, py: c.py, epochs: c.epochs, adam: c.adam ?? false }))));

function makeOptimizer(adam = false): Opt {
  const groups = [{ params: [zeros([1], { requiresGrad: true })] }, { params: [zeros([1], { requiresGrad: true })], lr: 0.02 }];
  return adam ? new Adam(groups, { lr: 0.1 }) : new SGD(groups, { lr: 0.1, momentum: 0.9 });
}
const momenta = (o: Opt): number[] => o.paramGroups.map((g) => ('betas' in g ? (g.betas as number[])[0]! : (g as { momentum: number }).momentum));

function assertClose(actual: number[][], expected: number[][], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: number of epochs`);
  actual.forEach((row, e) => row.forEach((v, g) => {
    const x = expected[e]![g]!;
    assert.ok(Math.abs(v - x) <= 1e-12 * Math.max(Math.abs(x), 1e-12), `${what} at epoch ${e}, group ${g}: ${v} vs PyTorch ${x}`);
  }));
}

for (const c of CASES) {
  test(`${c.name}: learning rates (and momenta) equal PyTorch's`, { skip }, () => {
    const opt = makeOptimizer(c.adam);
    const sched = c.make(opt);
    const lrs = [sched.getLastLr()];
    const mom = [momenta(opt)];
    for (let e = 0; e < c.epochs; e++) {
      sched.step();
      lrs.push(sched.getLastLr());
      mom.push(momenta(opt));
      assert.deepEqual(opt.paramGroups.map((g) => g.lr), sched.getLastLr());
    }
    const r = reference()[c.name]!;
    assertClose(lrs, r.lrs, `${c.name} lr`);
    assertClose(mom, r.momenta, `${c.name} momentum`);
  });
}

test('a SequentialLR resumes from its state dict and the optimizer\'s', () => {
  const make = (o: Opt): LRScheduler => linearWarmup(o, { warmupSteps: 3, startFactor: 0.2 }, (opt) => new CosineAnnealingLR(opt, { tMax: 8 }));
  const opt = makeOptimizer();
  const sched = make(opt);
  for (let i = 0; i < 5; i++) sched.step();
  const saved = { opt: opt.stateDict(), sched: JSON.parse(JSON.stringify(sched.stateDict())) };
  const rest: number[][] = [];
  for (let i = 0; i < 6; i++) {
    sched.step();
    rest.push(sched.getLastLr());
  }
  const opt2 = makeOptimizer();
  const sched2 = make(opt2);
  opt2.loadStateDict(saved.opt);
  sched2.loadStateDict(saved.sched);
  const resumed: number[][] = [];
  for (let i = 0; i < 6; i++) {
    sched2.step();
    resumed.push(sched2.getLastLr());
  }
  assert.deepEqual(resumed, rest);
});

test('schedules refuse bad arguments and OneCycleLR refuses to run past its steps', () => {
  const opt = makeOptimizer();
  assert.throws(() => new StepLR(opt, { stepSize: 0 }), /stepSize must be a positive integer/);
  assert.throws(() => new OneCycleLR(opt, { maxLr: 0.1 }), /totalSteps, or epochs and stepsPerEpoch/);
  assert.throws(() => new OneCycleLR(opt, { maxLr: [0.1], totalSteps: 5 }), /expected 2 values for maxLr/);
  assert.throws(() => new SequentialLR(opt, [new StepLR(opt, { stepSize: 2 })], [3]), /one milestone fewer/);
  const cycle = new OneCycleLR(makeOptimizer(), { maxLr: 0.1, totalSteps: 3 });
  for (let i = 0; i < 3; i++) cycle.step();
  assert.throws(() => cycle.step(), /Tried to step 5 times\. The specified number of total steps is 3/);
  const plain = new Adam([zeros([1], { requiresGrad: true })]);
  assert.doesNotThrow(() => new OneCycleLR(plain, { maxLr: 0.1, totalSteps: 3 }));
});
