// Flatness of the robust loss (Stutz, Hein & Schiele, ICCV 2021): average- and worst-case flatness
// per example against the same definitions written in plain PyTorch (same random ν, drawn in the same
// order from the same seed; PGD recomputed on the perturbed weights; the joint weight-and-input
// ascent), the weights bit-identical afterwards (also when the model fails midway), NaN weights.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { type Tensor, tidy } from '@robusta/torch';
import { hasPyTorch, runPython } from '@robusta/torch/testing';
import { computeMeasures, type MeasuredValue } from '../../src/measures/compute.js';
import { AVERAGE_FLATNESS, FLATNESS_MEASURES, perturbedParameters, WORST_CASE_FLATNESS } from '../../src/measures/flatness.js';
import { type Conv2d, Module, type Sequential } from '../../src/nn/index.js';
import { assertSameBytes, byName, exportForPython, loadMnist, measuresPrelude, smallCnn, trainedSmallCnn, weightBytes as snapshot } from './support.js';

const skipWithoutPyTorch = !hasPyTorch() && process.env.CI !== 'true' ? 'python3-torch is not installed' : false;

const NAMES = FLATNESS_MEASURES.map((m) => m.name);
const model = trainedSmallCnn();
const { images, labels } = loadMnist('train', 0, 64);
const data = { train: { x: images, y: labels } };
// Two batches of 32 (the worst case accumulates its weight gradient over them; PGD batch b is seeded seed + b).
const settings = { n: 64, batchSize: 32, seed: 3, attack: { eps: 0.1, steps: 3 } };


test('definitions: Stutz et al.\'s radii, samples and steps; BatchNorm parameters are not perturbed', () => {
  assert.deepEqual(NAMES, ['average-flatness', 'worst-case-flatness']);
  assert.deepEqual({ ...AVERAGE_FLATNESS }, { radius: 0.5, samples: 10 });
  assert.deepEqual({ ...WORST_CASE_FLATNESS }, { radius: 0.003, steps: 20, weightStep: 0.01 });
  for (const m of FLATNESS_MEASURES) {
    assert.equal(m.family, 'flatness');
    assert.equal(m.direction, -1);
  }
  assert.deepEqual(perturbedParameters(model).map(([k]) => k), ['0.weight', '0.bias', '3.weight', '3.bias', '6.weight', '6.bias', '8.weight', '8.bias']);
});

test('average- and worst-case flatness equal plain PyTorch per example (trained small CNN); weights bit-identical after', { skip: skipWithoutPyTorch }, () => {
  const before = snapshot(model);
  const report = computeMeasures(model, data, { ...settings, measures: ['adv-loss', ...NAMES] });
  assertSameBytes(before, snapshot(model), 'after the flatness measures');
  const r = report.settings;
  const dir = exportForPython(model, { x: images, y: labels });
  try {
    const ref = runPython<Record<string, { data: number[] }>>(`${measuresPrelude()}
import math
W = load_tensors(${JSON.stringify(dir)})
m = small_cnn(W)
x, y = W['x'], W['y']
n, bs, seed = x.shape[0], ${r.batchSize}, ${r.seed}
eps, alpha, steps = ${r.attack.eps}, ${r.attack.alpha}, ${r.attack.steps}
starts = list(range(0, n, bs))

def shared_pgd():
    # The shared PGD examples: batch b attacked after manual_seed(seed + b); the caller's stream is kept.
    state = torch.get_rng_state()
    adv = torch.cat([pgd(m, x[s:s + bs], y[s:s + bs], eps, alpha, steps, random_start=True, seed=seed + b)
                     for b, s in enumerate(starts)])
    torch.set_rng_state(state)
    return adv

def ce(inputs):
    with torch.no_grad():
        return torch.cat([F.cross_entropy(m(inputs[s:s + bs]), y[s:s + bs], reduction='none') for s in starts]).double()

norm_params = {id(p) for mod in m.modules() if isinstance(mod, nn.BatchNorm2d) for p in mod.parameters()}
P = [p for p in m.parameters() if id(p) not in norm_params]
orig = [p.detach().clone() for p in P]
wn = [torch.linalg.vector_norm(w).item() for w in orig]

torch.manual_seed(seed)            # computeMeasures seeds every measure with settings.seed
adv0 = shared_pgd()
reference = ce(adv0)

# average case: 10 ν on the relative spheres, PGD recomputed on w + ν
total = torch.zeros(n, dtype=torch.float64)
for k in range(10):
    with torch.no_grad():
        for p, w, norm in zip(P, orig, wn):
            g = torch.randn(p.shape)
            p.copy_(w + g * (0.5 * norm / torch.linalg.vector_norm(g).item()))
    total += ce(shared_pgd())
with torch.no_grad():
    for p, w in zip(P, orig):
        p.copy_(w)
average = total / 10 - reference

# worst case: 20 joint ascent steps on (ν, δ) from (0, PGD examples), ν step over all examples
nu = [torch.zeros_like(p) for p in P]
advs = [adv0[s:s + bs].clone() for s in starts]
for t in range(20):
    G = [torch.zeros_like(p) for p in P]
    for b, s in enumerate(starts):
        xg = advs[b].detach().requires_grad_(True)
        loss = F.cross_entropy(m(xg), y[s:s + bs], reduction='none').sum()
        grads = torch.autograd.grad(loss, [xg] + P)
        with torch.no_grad():
            for l in range(len(P)):
                G[l].add_(grads[1 + l])
            advs[b] = proj_linf(advs[b] + grads[0].sign() * alpha, x[s:s + bs], eps)
    with torch.no_grad():
        for l, p in enumerate(P):
            radius = 0.003 * wn[l]
            gn = torch.linalg.vector_norm(G[l]).item()
            if gn > 0:
                nu[l].add_(G[l] * (0.01 * wn[l] / gn))
            size = torch.linalg.vector_norm(nu[l]).item()
            if size > radius:
                nu[l].mul_(radius / size)
            assert torch.linalg.vector_norm(nu[l]).item() <= radius * (1 + 1e-5)
            p.copy_(orig[l] + nu[l])
worst = ce(torch.cat(advs)) - reference
OUTPUT = {'reference': reference, 'average': average, 'worst': worst}
`);
    // The shared examples are the same (adv-loss is their cross-entropy) ...
    const advLoss = byName(report.measures, 'adv-loss');
    const perExampleClose = (name: string, ours: number[], theirs: number[], tol: number) => {
      assert.equal(ours.length, theirs.length);
      let worstDiff = 0;
      ours.forEach((v, i) => {
        worstDiff = Math.max(worstDiff, Math.abs(v - theirs[i]!));
      });
      if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`${name}: max per-example |robusta − PyTorch| = ${worstDiff}`);
      assert.ok(worstDiff <= tol, `${name}: per-example difference ${worstDiff} > ${tol}`);
    };
    perExampleClose('adv-loss', advLoss.perExample!, ref.reference!.data, 1e-5);
    for (const [name, key] of [['average-flatness', 'average'], ['worst-case-flatness', 'worst']] as const) {
      const ours = byName(report.measures, name);
      assert.equal(ours.error, undefined, `${name}: ${ours.error}`);
      const theirs = ref[key]!.data;
      perExampleClose(name, ours.perExample!, theirs, 1e-5);
      const theirMean = theirs.reduce((a, b) => a + b, 0) / theirs.length;
      assert.ok(Math.abs(ours.value - theirMean) <= 1e-5, `${name}: ${ours.value} vs PyTorch ${theirMean}`);
      if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`${name}: ${ours.value} (PyTorch ${theirMean}), ${ours.seconds.toFixed(2)} s`);
    }
    // Not vacuous: both perturbations raise the robust loss, the large random one on average too.
    assert.ok(byName(report.measures, 'average-flatness').value > 0.01);
    assert.ok(byName(report.measures, 'worst-case-flatness').value > 1e-3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Wraps a model and throws from the `failAt`-th forward call on (to interrupt a measure midway). */
class FailingModel extends Module {
  calls = 0;
  constructor(readonly net: Sequential, readonly failAt: number) {
    super();
    this.registerModule('net', net);
  }
  forward(x: Tensor): Tensor {
    if (++this.calls >= this.failAt) throw new Error(`forward call ${this.calls} fails on purpose`);
    return this.net.forward(x);
  }
}

test('weights are restored bit-exactly when the model fails in the middle of a flatness measure', () => {
  // Count the forward calls of the shared work (PGD examples, clean and adversarial losses: more than
  // a flatness measure makes before it perturbs the weights), then fail a few calls later.
  const probe = new FailingModel(smallCnn(7), Infinity);
  computeMeasures(probe, data, { ...settings, measures: ['adv-loss'] });
  for (const name of NAMES) {
    const failing = new FailingModel(smallCnn(7), probe.calls + 3);
    const before = snapshot(failing);
    const m = byName(computeMeasures(failing, data, { ...settings, measures: [name] }).measures, name);
    assert.ok(Number.isNaN(m.value));
    assert.match(m.error ?? '', /fails on purpose/, `${name}: the model did not fail`);
    assertSameBytes(before, snapshot(failing), `${name} after a failure`);
    failing.dispose();
  }
  probe.dispose();
});

test('NaN weights give NaN flatness (no crash) and stay as they were', () => {
  const broken = smallCnn(5);
  tidy(() => torch.noGrad(() => (broken.at(3) as Conv2d).weight.narrow(0, 0, 1).fill_(NaN)));
  const before = snapshot(broken);
  const report = computeMeasures(broken, data, { ...settings, measures: NAMES });
  for (const m of report.measures) {
    assert.ok(Number.isNaN(m.value), `${m.name} = ${m.value}`);
    assert.equal(m.error, undefined, `${m.name}: ${m.error}`);
  }
  assertSameBytes(before, snapshot(broken), 'NaN model');
});
