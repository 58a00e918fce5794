// Each defense loss against a plain-PyTorch implementation of the official code (run in
// /usr/bin/python3 on the same weights, inputs and attack starts): loss values, parameter
// gradients, adversarial examples and BatchNorm statistics.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@robusta/torch';
import { type Tensor, tidy } from '@robusta/torch';
import { pyTorchSkip, runPython, type PyTensor } from '@robusta/torch/testing';
import { AT, AWP, FastAT, MART, Standard, TRADES, type AdversarialDefense, type DefenseLoss } from '../../src/defenses/index.js';
import { PY_TINY_CONV_NET, relativeError, stateObject, tinyConvNet } from './tiny-model.js';

// One intra-op thread: test files run side by side on few cores, where libtorch's spinning threads oversubscribe.
torch.setNumThreads(1);

const skip = pyTorchSkip();

const N = 8;
const EPS = 0.1;
const ALPHA = 0.03;
const STEPS = 4;
const BETA = 6;
const GAMMA = 5e-3;

interface PyCase {
  loss: number;
  grads: Record<string, PyTensor>;
  buffers: Record<string, PyTensor>;
  adv: PyTensor | null;
  v?: Record<string, PyTensor>;
}

const PYTHON_DEFS = `${PY_TINY_CONV_NET}
import copy, warnings
warnings.filterwarnings('ignore')  # the official code's size_average=False is deprecated (same as reduction='sum')
import torch.nn.functional as F
state = INPUT['state']
x = T(INPUT['x']); y = T(INPUT['y'])
x0_uniform = T(INPUT['x0_uniform']); x0_gauss = T(INPUT['x0_gauss'])
eps, alpha, steps, beta, gamma = INPUT['eps'], INPUT['alpha'], INPUT['steps'], INPUT['beta'], INPUT['gamma']

def finish(m, loss, x_adv, extra=None):
    m.zero_grad()
    loss.backward()
    out = {'loss': loss.item(), 'grads': {n: p.grad for n, p in m.named_parameters()},
           'buffers': {n: b for n, b in m.named_buffers()}, 'adv': x_adv}
    if extra: out.update(extra)
    return out

def pgd_ce(m, x_adv, reduction):
    # Madry et al. / MART's inner loop (torch.min/max projection as in the official TRADES/MART code)
    for _ in range(steps):
        x_adv.requires_grad_()
        with torch.enable_grad():
            loss = F.cross_entropy(m(x_adv), y, reduction=reduction)
        grad = torch.autograd.grad(loss, [x_adv])[0]
        x_adv = x_adv.detach() + alpha * torch.sign(grad.detach())
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps)
        x_adv = torch.clamp(x_adv, 0.0, 1.0)
    return x_adv

def standard():
    m = build(state); m.train()
    return finish(m, F.cross_entropy(m(x), y), None)

def at_adv(m):
    m.eval(); x_adv = pgd_ce(m, x0_uniform.clone(), 'mean'); m.train()
    return x_adv

def at():
    m = build(state)
    x_adv = at_adv(m)
    return finish(m, F.cross_entropy(m(x_adv), y), x_adv)

def at_train():
    # Madry et al.'s / Rice et al.'s code: the attack runs on the training-mode model
    m = build(state); m.train()
    x_adv = pgd_ce(m, x0_uniform.clone(), 'mean')
    return finish(m, F.cross_entropy(m(x_adv), y), x_adv)

def fast_at(mode='eval'):
    # Wong et al.'s FGSM-RS, delta formulation, alpha = 1.25 eps (their code: mode 'train')
    m = build(state); m.train(mode == 'train')
    a = 1.25 * eps
    delta = (x0_uniform - x).clone().requires_grad_(True)
    loss = F.cross_entropy(m(x + delta), y)
    grad = torch.autograd.grad(loss, [delta])[0]
    delta = torch.clamp(delta.detach() + a * torch.sign(grad), -eps, eps)
    delta = torch.max(torch.min(delta, 1 - x), 0 - x)
    x_adv = x + delta
    m.train()
    return finish(m, F.cross_entropy(m(x_adv), y), x_adv)

def trades_adv(m):
    # yaodongyu/TRADES trades_loss, inner loop
    criterion_kl = torch.nn.KLDivLoss(size_average=False)
    m.eval()
    x_adv = x0_gauss.clone()
    for _ in range(steps):
        x_adv.requires_grad_()
        with torch.enable_grad():
            loss_kl = criterion_kl(F.log_softmax(m(x_adv), dim=1), F.softmax(m(x), dim=1))
        grad = torch.autograd.grad(loss_kl, [x_adv])[0]
        x_adv = x_adv.detach() + alpha * torch.sign(grad.detach())
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps)
        x_adv = torch.clamp(x_adv, 0.0, 1.0)
    m.train()
    return torch.clamp(x_adv, 0.0, 1.0)

def trades_loss(m, x_adv):
    criterion_kl = torch.nn.KLDivLoss(size_average=False)
    logits = m(x)
    loss_natural = F.cross_entropy(logits, y)
    loss_robust = (1.0 / len(x)) * criterion_kl(F.log_softmax(m(x_adv), dim=1), F.softmax(m(x), dim=1))
    return loss_natural + beta * loss_robust

def trades():
    m = build(state)
    x_adv = trades_adv(m)
    return finish(m, trades_loss(m, x_adv), x_adv)

def mart():
    # YisenWang/MART mart_loss
    kl = torch.nn.KLDivLoss(reduction='none')
    m = build(state)
    m.eval()
    x_adv = pgd_ce(m, x0_gauss.clone(), 'mean')
    m.train()
    x_adv = torch.clamp(x_adv, 0.0, 1.0)
    logits = m(x)
    logits_adv = m(x_adv)
    adv_probs = F.softmax(logits_adv, dim=1)
    tmp1 = torch.argsort(adv_probs, dim=1)[:, -2:]
    new_y = torch.where(tmp1[:, -1] == y, tmp1[:, -2], tmp1[:, -1])
    loss_adv = F.cross_entropy(logits_adv, y) + F.nll_loss(torch.log(1.0001 - adv_probs + 1e-12), new_y)
    nat_probs = F.softmax(logits, dim=1)
    true_probs = torch.gather(nat_probs, 1, (y.unsqueeze(1)).long()).squeeze()
    loss_robust = (1.0 / len(x)) * torch.sum(torch.sum(kl(torch.log(adv_probs + 1e-12), nat_probs), dim=1) * (1.0000001 - true_probs))
    return finish(m, loss_adv + float(beta) * loss_robust, x_adv)

# csdongxian/AWP utils_awp.py
EPS_AWP = 1E-20
def diff_in_weights(model, proxy):
    diff_dict = {}
    for (old_k, old_w), (new_k, new_w) in zip(model.state_dict().items(), proxy.state_dict().items()):
        if len(old_w.size()) <= 1:
            continue
        if 'weight' in old_k:
            diff_w = new_w - old_w
            diff_dict[old_k] = old_w.norm() / (diff_w.norm() + EPS_AWP) * diff_w
    return diff_dict

def add_into_weights(model, diff, coeff=1.0):
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in diff:
                param.add_(coeff * diff[name])

def awp(kind):
    m = build(state)
    proxy = build(state)
    proxy_optim = torch.optim.SGD(proxy.parameters(), lr=0.01)
    x_adv = at_adv(m) if kind == 'at' else trades_adv(m)
    proxy.load_state_dict(m.state_dict())
    proxy.train()
    if kind == 'at':
        loss = -F.cross_entropy(proxy(x_adv), y)
    else:
        loss = -(F.cross_entropy(proxy(x), y) + beta * F.kl_div(F.log_softmax(proxy(x_adv), dim=1), F.softmax(proxy(x), dim=1), reduction='batchmean'))
    proxy_optim.zero_grad(); loss.backward(); proxy_optim.step()
    diff = diff_in_weights(m, proxy)
    add_into_weights(m, diff, coeff=1.0 * gamma)
    v = {k: gamma * d for k, d in diff.items()}
    loss = F.cross_entropy(m(x_adv), y) if kind == 'at' else trades_loss(m, x_adv)
    return finish(m, loss, x_adv, {'v': v})

`;

const PYTHON = `${PYTHON_DEFS}
OUTPUT = {'standard': standard(), 'at': at(), 'fast_at': fast_at(), 'trades': trades(), 'mart': mart(),
          'awp_at': awp('at'), 'awp_trades': awp('trades'), 'at_train': at_train(), 'fast_at_train': fast_at('train')}
`;

interface Fixture {
  state: Record<string, Tensor>;
  x: Tensor;
  y: Tensor;
  x0Uniform: Tensor;
  x0Gauss: Tensor;
  py: Record<string, PyCase>;
}

let fixture: Fixture | undefined;
function getFixture(): Fixture {
  if (fixture) return fixture;
  torch.manualSeed(1234);
  const model = tinyConvNet();
  // Non-trivial running statistics, so that eval-mode attacks differ visibly from train-mode ones.
  tidy(() => {
    model.train();
    torch.noGrad(() => model.forward(torch.rand([16, 1, 6, 6]).mul(0.7)));
  });
  const state = stateObject(model);
  model.dispose();
  const x = torch.keep(torch.rand([N, 1, 6, 6]));
  const y = torch.keep(torch.randint(0, 5, [N]));
  const x0Uniform = torch.keep(tidy(() => x.add(torch.rand([N, 1, 6, 6]).mul(2 * EPS).sub(EPS)).clamp(0, 1)));
  const x0Gauss = torch.keep(tidy(() => x.add(torch.randn([N, 1, 6, 6]).mul(0.001))));
  const py = runPython<Record<string, PyCase>>(PYTHON, {
    state, x, y, x0_uniform: x0Uniform, x0_gauss: x0Gauss, eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA, gamma: GAMMA,
  });
  fixture = { state, x, y, x0Uniform, x0Gauss, py };
  return fixture;
}

function freshModel(f: Fixture) {
  const model = tinyConvNet();
  model.loadStateDict(new Map(Object.entries(f.state)));
  model.train();
  return model;
}

const close = (a: Tensor, b: PyTensor, tol: number, what: string, scale?: number): void => {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const err = relativeError(a.toFlatArray(), b.data, scale);
  assert.ok(err <= tol, `${what}: relative error ${err} > ${tol}`);
};

interface Ours {
  loss: number;
  grads: Map<string, Tensor>;
  buffers: Map<string, Tensor>;
  adv: Tensor | null;
  v: Map<string, Tensor>;
  restoredExactly: boolean;
}

/** One training step's gradient with our defense (the trainer's sequence: compute, backward, restore). */
function runOurs(defense: DefenseLoss, f: Fixture, adversarial: AdversarialDefense | null): Ours {
  const model = freshModel(f);
  try {
    return tidy(() => {
      const before = new Map(model.namedParameters().map(([n, p]) => [n, torch.keep(p.detach().clone())]));
      let adv: Tensor | null = null;
      if (adversarial) {
        adv = torch.keep(adversarial.generate(model, f.x, f.y));
        for (const p of model.parameters()) assert.equal(p.grad, null, 'the inner attack left a gradient on a parameter');
        assert.equal(model.training, true, 'the inner attack did not restore training mode');
      }
      const out = defense.compute(model, f.x, f.y, { epoch: 0, batch: 0 });
      out.loss.backward();
      const v = new Map<string, Tensor>();
      for (const [n, p] of model.namedParameters()) {
        const d = p.detach().sub(before.get(n)!);
        if (d.abs().max().item() > 0) v.set(n, torch.keep(d));
      }
      out.restore?.();
      const restoredExactly = model.namedParameters().every(([n, p]) => Buffer.from(p.data().buffer).equals(Buffer.from(before.get(n)!.data().buffer)));
      const grads = new Map(model.namedParameters().map(([n, p]) => [n, torch.keep(p.grad!)]));
      const buffers = new Map(model.namedBuffers().map(([n, b]) => [n, torch.keep(b.clone())]));
      torch.dispose([...before.values()]);
      return { loss: out.loss.item(), grads, buffers, adv, v, restoredExactly };
    });
  } finally {
    model.dispose();
  }
}

function compare(name: string, ours: Ours, py: PyCase, o: { buffers: boolean }): void {
  const tol = 2e-5;
  assert.ok(Math.abs(ours.loss - py.loss) <= tol * Math.max(1, Math.abs(py.loss)), `${name}: loss ${ours.loss} vs PyTorch ${py.loss}`);
  // Relative to the largest gradient of the model: the conv bias before BatchNorm has a zero gradient
  // in exact arithmetic, so its own scale is rounding noise.
  const scale = Math.max(...Object.values(py.grads).map((g) => Math.max(...g.data.map(Math.abs))));
  for (const [n, g] of ours.grads) close(g, py.grads[n]!, 1e-5, `${name}: grad of ${n}`, scale);
  if (o.buffers) {
    for (const [n, b] of ours.buffers) close(b, py.buffers[n]!, 1e-5, `${name}: buffer ${n}`);
  }
  if (ours.adv && py.adv) close(ours.adv, py.adv, 1e-5, `${name}: adversarial examples`);
  torch.dispose([...ours.grads.values(), ...ours.buffers.values(), ...ours.v.values(), ours.adv]);
}

const fixedStart = (start: () => Tensor) => () => start();

test('Standard: clean cross-entropy, loss and gradients match PyTorch', { skip }, () => {
  const f = getFixture();
  const d = new Standard();
  compare('Standard', runOurs(d, f, null), f.py.standard!, { buffers: true });
});

test('AT (Madry): PGD from the given start in eval mode, CE on x′ — matches PyTorch', { skip }, () => {
  const f = getFixture();
  const d = new AT({ eps: EPS, alpha: ALPHA, steps: STEPS, start: fixedStart(() => f.x0Uniform) });
  compare('AT', runOurs(d, f, d), f.py.at!, { buffers: true });
});

test('Fast-AT (Wong): one FGSM step of 1.25ε from the start — matches the delta formulation in PyTorch', { skip }, () => {
  const f = getFixture();
  const d = new FastAT({ eps: EPS, start: fixedStart(() => f.x0Uniform) });
  assert.equal(d.budget.steps, 1);
  assert.ok(Math.abs(d.budget.alpha - 1.25 * EPS) < 1e-12);
  compare('Fast-AT', runOurs(d, f, d), f.py.fast_at!, { buffers: true });
});

test('TRADES: KL attack from x + 0.001·N and CE + β·KL — matches the official trades_loss', { skip }, () => {
  const f = getFixture();
  const d = new TRADES({ eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA, start: fixedStart(() => f.x0Gauss) });
  // The official code runs f(x) a second time in training mode: BatchNorm statistics differ by design.
  compare('TRADES', runOurs(d, f, d), f.py.trades!, { buffers: false });
});

test('MART: boosted CE + β·KL·(1 − p_y) — matches the official mart_loss', { skip }, () => {
  const f = getFixture();
  const d = new MART({ eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA, start: fixedStart(() => f.x0Gauss) });
  compare('MART', runOurs(d, f, d), f.py.mart!, { buffers: true });
});

for (const kind of ['at', 'trades'] as const) {
  test(`AWP-${kind.toUpperCase()}: perturbation ‖v_l‖ = γ‖w_l‖ per layer, loss and gradients at w + v match utils_awp.py, weights restored bit-exactly`,
    { skip }, () => {
      const f = getFixture();
      const inner = kind === 'at'
        ? new AT({ eps: EPS, alpha: ALPHA, steps: STEPS, start: fixedStart(() => f.x0Uniform) })
        : new TRADES({ eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA, start: fixedStart(() => f.x0Gauss) });
      const awp = new AWP(inner, { gamma: GAMMA });
      const ours = runOurs(awp, f, inner);
      const py = f.py[`awp_${kind}`]!;
      assert.ok(ours.restoredExactly, 'the weights after restore differ from the weights before the step');
      // Only the conv and linear weights move (not biases, not BatchNorm's affine parameters).
      assert.deepEqual([...ours.v.keys()].sort(), ['0.weight', '4.weight']);
      for (const [n, v] of ours.v) {
        const w = f.state[n]!;
        const ratio = v.norm().item() / w.norm().item();
        assert.ok(Math.abs(ratio - GAMMA) < GAMMA * 1e-3, `${n}: ‖v‖/‖w‖ = ${ratio}, expected γ = ${GAMMA}`);
        close(v, py.v![n]!, 1e-3, `AWP-${kind}: perturbation of ${n}`);
      }
      // The proxy's BatchNorm statistics never reach the model: only the loss forward updates them.
      compare(`AWP-${kind}`, ours, py, { buffers: kind === 'at' });
    });
}

test('AWP warm-up: before warmupEpochs the loss is the inner one, weights untouched', { skip }, () => {
  const f = getFixture();
  const inner = new AT({ eps: EPS, alpha: ALPHA, steps: STEPS, start: fixedStart(() => f.x0Uniform) });
  const awp = new AWP(inner, { gamma: GAMMA, warmupEpochs: 2 });
  const model = freshModel(f);
  tidy(() => {
    const out = awp.compute(model, f.x, f.y, { epoch: 1, batch: 0 });
    assert.equal(out.restore, undefined);
    assert.ok(Math.abs(out.loss.item() - f.py.at!.loss) < 2e-5);
  });
  model.dispose();
});

test('AT and Fast-AT with attackMode \'train\': the attack on the training-mode model, as Madry\'s and Wong\'s code — matches PyTorch, BatchNorm statistics included', { skip }, () => {
  const f = getFixture();
  const at = new AT({ eps: EPS, alpha: ALPHA, steps: STEPS, start: fixedStart(() => f.x0Uniform), attackMode: 'train' });
  compare('AT (train mode)', runOurs(at, f, null), f.py.at_train!, { buffers: true });
  const fast = new FastAT({ eps: EPS, start: fixedStart(() => f.x0Uniform), attackMode: 'train' });
  compare('Fast-AT (train mode)', runOurs(fast, f, null), f.py.fast_at_train!, { buffers: true });
  // The two modes give different adversarial examples here: the option is not a no-op.
  const differs = relativeError(f.py.at_train!.adv!.data, f.py.at!.adv!.data);
  assert.ok(differs > 1e-3, `eval- and train-mode attacks agree (${differs}): the comparison cannot tell them apart`);
  assert.throws(() => new AT({ attackMode: 'test' as 'eval' }), RangeError);
});

test('TRADES officialForwards: f(x), f(x′), f(x) as trades_loss — loss, gradients and now BatchNorm statistics equal the official code', { skip }, () => {
  const f = getFixture();
  const official = new TRADES({ eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA, start: fixedStart(() => f.x0Gauss), officialForwards: true });
  compare('TRADES (official forwards)', runOurs(official, f, official), f.py.trades!, { buffers: true });
  // With two forward passes (the default) the running statistics differ from the official ones.
  const twice = runOurs(new TRADES({ eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA, start: fixedStart(() => f.x0Gauss) }), f, null);
  const mean = twice.buffers.get('1.running_mean')!;
  assert.ok(relativeError(mean.toFlatArray(), f.py.trades!.buffers['1.running_mean']!.data) > 1e-4, 'two and three forward passes leave the same statistics');
  torch.dispose([...twice.grads.values(), ...twice.buffers.values(), ...twice.v.values(), twice.adv]);
});

test('AWP firstEpoch: with warmupEpochs k, AWP starts at epoch k (firstEpoch 0, AT-AWP) or k − 1 (firstEpoch 1, TRADES-AWP\'s epoch >= awp_warmup from 1)', { skip }, () => {
  const f = getFixture();
  const inner = () => new AT({ eps: EPS, alpha: ALPHA, steps: STEPS, start: fixedStart(() => f.x0Uniform) });
  for (const [firstEpoch, epoch, on] of [[0, 1, false], [0, 2, true], [1, 0, false], [1, 1, true]] as const) {
    const awp = new AWP(inner(), { gamma: GAMMA, warmupEpochs: 2, firstEpoch });
    const model = freshModel(f);
    tidy(() => {
      const out = awp.compute(model, f.x, f.y, { epoch, batch: 0 });
      assert.equal(out.restore !== undefined, on, `firstEpoch ${firstEpoch}, epoch ${epoch}: AWP ${on ? 'off' : 'on'}`);
      const want = on ? f.py.awp_at!.loss : f.py.at!.loss;
      assert.ok(Math.abs(out.loss.item() - want) < 2e-5, `firstEpoch ${firstEpoch}, epoch ${epoch}: loss ${out.loss.item()} vs ${want}`);
      out.restore?.();
    });
    model.dispose();
  }
  assert.throws(() => new AWP(inner(), { firstEpoch: 2 as 0 }), RangeError);
});

test('default random starts draw what the official code draws after the same seed (AT, Fast-AT: U(−ε, ε); TRADES, MART: 0.001·N(0, 1))', { skip }, () => {
  const f = getFixture();
  const SEED = 3;
  const py = runPython<Record<string, PyCase>>(`${PYTHON_DEFS}
def seeded(kind):
    global x0_uniform, x0_gauss
    torch.manual_seed(${SEED})
    if kind in ('at', 'fast_at'):
        # Madry/Rice: delta = zeros_like(X).uniform_(-eps, eps), clipped so that X + delta stays in [0, 1]
        x0_uniform = torch.clamp(x + torch.zeros_like(x).uniform_(-eps, eps), 0.0, 1.0)
    else:
        # TRADES and MART: x_natural + 0.001 * torch.randn(x_natural.shape)
        x0_gauss = x + 0.001 * torch.randn(x.shape)
    return {'at': at, 'fast_at': fast_at, 'trades': trades, 'mart': mart}[kind]()
OUTPUT = {k: seeded(k) for k in ('at', 'fast_at', 'trades', 'mart')}
`, { state: f.state, x: f.x, y: f.y, x0_uniform: f.x0Uniform, x0_gauss: f.x0Gauss, eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA, gamma: GAMMA });
  const defenses: Record<string, () => AdversarialDefense> = {
    at: () => new AT({ eps: EPS, alpha: ALPHA, steps: STEPS }),
    fast_at: () => new FastAT({ eps: EPS }),
    trades: () => new TRADES({ eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA }),
    mart: () => new MART({ eps: EPS, alpha: ALPHA, steps: STEPS, beta: BETA }),
  };
  for (const [kind, make] of Object.entries(defenses)) {
    const d = make();
    const model = freshModel(f);
    tidy(() => {
      torch.manualSeed(SEED);
      close(d.generate(model, f.x, f.y), py[kind]!.adv!, 1e-5, `${kind}: adversarial examples from the default start`);
    });
    model.dispose();
    // compute() draws its own start: seeded the same, the loss is the official one.
    const again = freshModel(f);
    tidy(() => {
      torch.manualSeed(SEED);
      const loss = d.compute(again, f.x, f.y, { epoch: 0, batch: 0 }).loss.item();
      assert.ok(Math.abs(loss - py[kind]!.loss) <= 2e-5 * Math.max(1, Math.abs(py[kind]!.loss)), `${kind}: loss ${loss} vs PyTorch ${py[kind]!.loss}`);
    });
    again.dispose();
  }
});

test('defenses reject bad hyper-parameters and batches with typed errors', () => {
  assert.throws(() => new AT({ eps: -1 }), RangeError);
  assert.throws(() => new AT({ steps: 0 }), RangeError);
  assert.throws(() => new TRADES({ beta: Number.NaN }), RangeError);
  assert.throws(() => new MART({ alpha: Infinity }), RangeError);
  assert.throws(() => new AWP(new AT(), { gamma: -0.1 }), RangeError);
  assert.throws(() => new AWP({ name: 'x', compute: () => { throw new Error(); } } as unknown as AdversarialDefense), RangeError);
  const model = tinyConvNet();
  tidy(() => {
    assert.throws(() => new AT().compute(model, torch.rand([2, 1, 6, 6]), torch.tensor([0, 1])), TypeError); // float labels
    assert.throws(() => new AT().compute(model, torch.rand([2, 1, 6, 6]), torch.tensor([0, 1, 2], { dtype: 'int64' })), RangeError);
  });
  model.dispose();
});
