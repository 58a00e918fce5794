// Optimizers update exactly as PyTorch 1.13's: the same initial weights and data give the same
// parameters after N steps (SGD variants, Adam, AdamW, parameter groups, with LR schedules that also
// cycle momentum); a run resumed from state dicts continues bit-identically.
import test from 'node:test';
import assert from 'node:assert/strict';
import { F, manualSeed, tensorsNotDisposed, randint, randn, type Tensor, tidy, zeros } from '@robusta/torch';
import { pyTorchSkip, maxAbsDiff, runPython, type PyTensor } from '@robusta/torch/testing';
import { Linear, Module, ReLU, Sequential } from '../../src/nn/index.js';
import {
  Adam, AdamW, CosineAnnealingLR, type LRScheduler, MultiStepLR, OneCycleLR, type Optimizer, SGD,
} from '../../src/optim/index.js';
import { once } from './support/python.js';

const STEPS = 12;
const BATCH = 4;

manualSeed(11);
const X = randn([16, 5]);
const Y = randint(0, 3, [16]);
const makeNet = (): Sequential => new Sequential(new Linear(5, 8), new ReLU(), new Linear(8, 3));
const initial = makeNet();
const INIT = Object.fromEntries(initial.stateDict());

interface Config {
  name: string;
  /** Python: the optimizer expression over `groups`. */
  py: string;
  /** Python: the scheduler expression over `opt` (or None). */
  pySched?: string;
  make: (net: Module) => Optimizer<{ lr: number }>;
  sched?: (opt: Optimizer<{ lr: number }>) => LRScheduler;
}

const firstLayer = (net: Module): Tensor[] => [net.getSubmodule('0').getParameter('weight')!, net.getSubmodule('0').getParameter('bias')!];
const lastLayer = (net: Module): Tensor[] => net.getSubmodule('2').parameters();

const CONFIGS: Config[] = [
  { name: 'sgd', py: 'torch.optim.SGD(params, lr=0.1, foreach=False)', make: (n) => new SGD(n.parameters(), { lr: 0.1 }) },
  {
    name: 'sgd-momentum-dampening-wd', py: 'torch.optim.SGD(params, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=5e-4, foreach=False)',
    make: (n) => new SGD(n.parameters(), { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 5e-4 }),
  },
  {
    name: 'sgd-nesterov', py: 'torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3, foreach=False)',
    make: (n) => new SGD(n.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
  },
  {
    name: 'sgd-maximize', py: 'torch.optim.SGD(params, lr=0.01, momentum=0.5, maximize=True, foreach=False)',
    make: (n) => new SGD(n.parameters(), { lr: 0.01, momentum: 0.5, maximize: true }),
  },
  { name: 'adam', py: 'torch.optim.Adam(params, lr=1e-2, foreach=False)', make: (n) => new Adam(n.parameters(), { lr: 1e-2 }) },
  {
    name: 'adam-wd-amsgrad', py: 'torch.optim.Adam(params, lr=1e-2, weight_decay=1e-2, amsgrad=True, foreach=False)',
    make: (n) => new Adam(n.parameters(), { lr: 1e-2, weightDecay: 1e-2, amsgrad: true }),
  },
  {
    name: 'adamw', py: 'torch.optim.AdamW(params, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, foreach=False)',
    make: (n) => new AdamW(n.parameters(), { lr: 1e-2, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
  },
  {
    name: 'sgd-groups',
    py: "torch.optim.SGD([{'params': first, 'lr': 0.05, 'weight_decay': 1e-3}, {'params': last}], lr=0.2, momentum=0.9, foreach=False)",
    make: (n) => new SGD([{ params: firstLayer(n), lr: 0.05, weightDecay: 1e-3 }, { params: lastLayer(n) }], { lr: 0.2, momentum: 0.9 }),
  },
  {
    name: 'adamw-groups', py: "torch.optim.AdamW([{'params': first, 'weight_decay': 0.0}, {'params': last, 'lr': 3e-2}], lr=1e-2, foreach=False)",
    make: (n) => new AdamW([{ params: firstLayer(n), weightDecay: 0 }, { params: lastLayer(n), lr: 3e-2 }], { lr: 1e-2 }),
  },
  {
    name: 'sgd-onecycle', py: 'torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4, foreach=False)',
    pySched: `torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.3, total_steps=${STEPS})`,
    make: (n) => new SGD(n.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
    sched: (o) => new OneCycleLR(o, { maxLr: 0.3, totalSteps: STEPS }),
  },
  {
    name: 'adam-onecycle', py: 'torch.optim.Adam(params, lr=1e-3, foreach=False)',
    pySched: `torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=${STEPS}, anneal_strategy='linear', three_phase=True)`,
    make: (n) => new Adam(n.parameters(), { lr: 1e-3 }),
    sched: (o) => new OneCycleLR(o, { maxLr: 0.05, totalSteps: STEPS, annealStrategy: 'linear', threePhase: true }),
  },
  {
    name: 'sgd-multistep', py: "torch.optim.SGD([{'params': first}, {'params': last, 'lr': 0.3}], lr=0.1, momentum=0.8, foreach=False)",
    pySched: 'torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 7], gamma=0.2)',
    make: (n) => new SGD([{ params: firstLayer(n) }, { params: lastLayer(n), lr: 0.3 }], { lr: 0.1, momentum: 0.8 }),
    sched: (o) => new MultiStepLR(o, { milestones: [3, 7], gamma: 0.2 }),
  },
];

const SCRIPT = `
import torch.nn as nn
import torch.nn.functional as F
X, Y = T(INPUT['X']), T(INPUT['Y'])
out = {}
for c in INPUT['configs']:
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    net.load_state_dict({k: T(v) for k, v in INPUT['init'].items()})
    params = list(net.parameters())
    first, last = list(net[0].parameters()), list(net[2].parameters())
    opt = eval(c['py'])
    sched = eval(c['sched']) if c['sched'] else None
    lrs = []
    for i in range(${STEPS}):
        lo = (i * ${BATCH}) % 16
        opt.zero_grad()
        F.cross_entropy(net(X[lo:lo + ${BATCH}]), Y[lo:lo + ${BATCH}]).backward()
        opt.step()
        if sched is not None:
            sched.step()
            lrs.extend(sched.get_last_lr())
    for k, v in net.state_dict().items():
        out[c['name'] + '/' + k] = v
    out[c['name'] + '/lrs'] = torch.tensor(lrs, dtype=torch.float64)
OUTPUT = out
`;

const skip = pyTorchSkip();
const reference = once(() => runPython<Record<string, PyTensor>>(SCRIPT, {
  X, Y, init: INIT, configs: CONFIGS.map((c) => ({ name: c.name, py: c.py, sched: c.pySched ?? null })),
}));

/** Trains `steps` mini-batch steps from batch index `from`; returns the scheduler's lrs after each step. */
function train(net: Module, opt: Optimizer<{ lr: number }>, sched: LRScheduler | undefined, from: number, steps: number): number[] {
  const lrs: number[] = [];
  for (let i = from; i < from + steps; i++) {
    tidy(() => {
      const lo = (i * BATCH) % 16;
      opt.zeroGrad();
      F.crossEntropy(net.call(X.slice(0, lo, lo + BATCH)), Y.slice(0, lo, lo + BATCH)).backward();
      opt.step();
    });
    if (sched) {
      sched.step();
      lrs.push(...sched.getLastLr());
    }
  }
  return lrs;
}

function freshNet(): Sequential {
  const net = makeNet();
  net.loadStateDict(INIT);
  return net;
}

for (const c of CONFIGS) {
  test(`${c.name}: ${STEPS} steps give PyTorch's parameters`, { skip }, () => {
    const net = freshNet();
    const opt = c.make(net);
    const sched = c.sched?.(opt);
    const lrs = train(net, opt, sched, 0, STEPS);
    const r = reference();
    tidy(() => {
      for (const [k, v] of net.stateDict()) {
        const d = maxAbsDiff(v, r[`${c.name}/${k}`]!);
        assert.ok(d <= 1e-5, `${c.name} ${k}: max |diff| ${d}`);
      }
    });
    const expectedLrs = r[`${c.name}/lrs`]!.data;
    assert.equal(lrs.length, expectedLrs.length);
    lrs.forEach((lr, i) => assert.ok(Math.abs(lr - expectedLrs[i]!) <= 1e-12 * Math.abs(expectedLrs[i]!), `lr ${i}: ${lr} vs ${expectedLrs[i]}`));
    opt.dispose();
    net.dispose();
  });
}

const RESUMABLE: [string, (net: Module) => Optimizer<{ lr: number }>, (opt: Optimizer<{ lr: number }>) => LRScheduler][] = [
  ['SGD (Nesterov) + OneCycleLR', (n) => new SGD(n.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
    (o) => new OneCycleLR(o, { maxLr: 0.2, totalSteps: 16 })],
  ['Adam (AMSGrad) + CosineAnnealingLR', (n) => new Adam(n.parameters(), { lr: 1e-2, amsgrad: true }),
    (o) => new CosineAnnealingLR(o, { tMax: 10, etaMin: 1e-4 })],
  ['AdamW + OneCycleLR (betas)', (n) => new AdamW(n.parameters(), { lr: 1e-2 }), (o) => new OneCycleLR(o, { maxLr: 0.02, totalSteps: 16 })],
];

for (const [name, makeOpt, makeSched] of RESUMABLE) {
  test(`${name}: a run resumed from state dicts continues bit-identically`, () => {
    const net = freshNet();
    const opt = makeOpt(net);
    const sched = makeSched(opt);
    train(net, opt, sched, 0, 6);
    // The model's state dict aliases its tensors (as PyTorch's): snapshot it as a checkpoint would.
    const model = new Map([...net.stateDict()].map(([k, v]) => [k, v.clone()]));
    const saved = { model, opt: opt.stateDict(), sched: structuredClone(sched.stateDict()) };
    const lrsA = train(net, opt, sched, 6, 6);

    const net2 = freshNet();
    net2.loadStateDict(saved.model);
    const opt2 = makeOpt(net2);
    const sched2 = makeSched(opt2);
    opt2.loadStateDict(saved.opt);
    sched2.loadStateDict(saved.sched);
    const lrsB = train(net2, opt2, sched2, 6, 6);

    assert.deepEqual(lrsB, lrsA);
    tidy(() => {
      const a = net.stateDict();
      for (const [k, v] of net2.stateDict()) assert.deepEqual(v.toFlatArray(), a.get(k)!.toFlatArray(), `${name}: ${k} after resuming`);
    });
    for (const m of [net, net2]) m.dispose();
    for (const o of [opt, opt2]) o.dispose();
  });
}

test('the state dict holds per-parameter state by index and the groups\' hyperparameters', () => tidy(() => {
  const net = freshNet();
  const opt = new SGD([{ params: firstLayer(net), lr: 0.5 }, { params: lastLayer(net) }], { lr: 0.1, momentum: 0.9 });
  // Only the last layer gets a gradient: the first has no state after the step.
  net.getSubmodule('0').requiresGrad_(false);
  train(net, opt, undefined, 0, 1);
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state), ['2', '3']);
  assert.deepEqual(Object.keys(sd.state[2]!), ['momentumBuffer']);
  assert.deepEqual(sd.paramGroups.map((g) => [g.lr, g.momentum, g.params]), [[0.5, 0.9, [0, 1]], [0.1, 0.9, [2, 3]]]);
  const buffer = opt.stateOf(lastLayer(net)[0]!)!.momentumBuffer as Tensor;
  assert.notEqual(sd.state[2]!.momentumBuffer, buffer, 'the snapshot holds copies');
  assert.throws(() => opt.loadStateDict({ ...sd, paramGroups: sd.paramGroups.slice(1) }), /1 parameter groups, the optimizer has 2/);
  opt.dispose();
  net.dispose();
}));

test('zeroGrad drops or zero-fills gradients; bad hyperparameters and parameter lists are refused', () => tidy(() => {
  const net = freshNet();
  const opt = new Adam(net.parameters());
  F.crossEntropy(net.call(X), Y).backward();
  opt.zeroGrad(false);
  assert.ok(net.parameters().every((p) => p.grad !== null && p.grad.abs().sum().item() === 0));
  opt.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
  assert.equal(opt.paramGroups[0]!.weightDecay, 0);
  assert.equal(new AdamW(net.parameters()).paramGroups[0]!.weightDecay, 1e-2);
  assert.throws(() => new SGD(net.parameters(), { lr: -1 }), /invalid learning rate/);
  assert.throws(() => new SGD(net.parameters(), { lr: 0.1, nesterov: true }), /Nesterov momentum requires/);
  assert.throws(() => new Adam(net.parameters(), { betas: [1, 0.999] }), /beta parameter at index 0/);
  assert.throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  const w = net.parameters()[0]!;
  assert.throws(() => new SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 }), /more than one parameter group/);
  assert.throws(() => new SGD([w.mul(2)], { lr: 0.1 }), /non-leaf/);
  assert.throws(() => new SGD([zeros([2], { dtype: 'int64' })], { lr: 0.1 }), /int64/);
  net.dispose();
}));

test('training steps leave no tensor behind (state is created once, temporaries freed)', () => {
  const net = freshNet();
  const opt = new Adam(net.parameters(), { amsgrad: true, weightDecay: 1e-3 });
  const sched = new CosineAnnealingLR(opt, { tMax: 10 });
  train(net, opt, sched, 0, 2);
  const live = tensorsNotDisposed();
  train(net, opt, sched, 2, 5);
  assert.equal(tensorsNotDisposed(), live);
  opt.dispose();
  net.dispose();
});
