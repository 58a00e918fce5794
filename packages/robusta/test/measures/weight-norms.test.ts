// Weight-norm measures (Jiang et al. 2020; path norm of Neyshabur et al.; distance from
// initialisation): every definition recomputed in plain PyTorch on the trained small CNN, the path
// norm also by explicit enumeration of the paths of a small MLP, the weights left bit-identical, and
// the failure modes (NaN weights, unsupported layers, missing or mismatched initial weights).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { tidy } from '@robusta/torch';
import { hasPyTorch, runPython } from '@robusta/torch/testing';
import { computeMeasures, type MeasuredValue } from '../../src/measures/compute.js';
import { MeasureError } from '../../src/measures/types.js';
import { distanceFromInit, pathNorm, WEIGHT_NORM_MEASURES } from '../../src/measures/weight-norms.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, type Module, Normalize, ReLU, Sequential, type StateDict } from '../../src/nn/index.js';
import { assertSameBytes, byName, exportForPython, loadMnist, measuresPrelude, smallCnn, trainedSmallCnn, weightBytes as snapshot, writeTensors } from './support.js';

const skipWithoutPyTorch = !hasPyTorch() && process.env.CI !== 'true' ? 'python3-torch is not installed' : false;

const NAMES = WEIGHT_NORM_MEASURES.map((m) => m.name);
const model = trainedSmallCnn();
const initial: StateDict = smallCnn(0).stateDict(); // trainedSmallCnn(60, 0) starts from smallCnn(0)
const { images, labels } = loadMnist('train', 0, 64);
const data = { train: { x: images, y: labels } };
const settings = { n: 64, batchSize: 64 };


test('definitions: names, family, direction, and which need examples or initial weights', () => {
  assert.deepEqual(NAMES, ['log-prod-of-fro', 'sum-of-fro', 'param-norm', 'log-prod-of-spec', 'sum-of-spec', 'path-norm',
    'distance-from-init', 'param-count']);
  for (const m of WEIGHT_NORM_MEASURES) {
    assert.match(m.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.equal(m.family, 'weight-norm');
    assert.equal(m.direction, -1);
    assert.equal(m.cost, 'cheap');
    // path-norm reads the shape of one example; the others read only the weights.
    assert.equal(m.needs?.examples ?? true, m.name === 'path-norm');
    assert.equal(m.needs?.initialWeights ?? false, m.name === 'distance-from-init');
  }
});

test('every weight-norm measure equals its definition computed in plain PyTorch (trained small CNN)', { skip: skipWithoutPyTorch }, () => {
  const before = snapshot(model);
  const report = computeMeasures(model, data, { ...settings, measures: NAMES, initialState: initial });
  assertSameBytes(before, snapshot(model), 'after the weight-norm measures');
  const extra: Record<string, torch.Tensor> = {};
  for (const [k, t] of initial) extra[`init.${k}`] = t;
  const dir = exportForPython(model, extra);
  try {
    const ref = runPython<Record<string, number>>(`${measuresPrelude()}
import math
import torch.nn.functional as F
W = load_tensors(${JSON.stringify(dir)})
m = small_cnn(W)
ws = [mod.weight.detach().double() for mod in m.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
d = len(ws)
fro2 = [w.pow(2).sum().item() for w in ws]
spec2 = [torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item() ** 2 for w in ws]
prod_fro, prod_spec = math.prod(fro2), math.prod(spec2)

def path_norm(seq, shape):
    # Σ_paths Π w²: the network with squared weights and biases, BatchNorm as its squared affine map.
    x = torch.ones([1] + shape, dtype=torch.float64)
    for layer in seq:
        if isinstance(layer, nn.Conv2d):
            x = F.conv2d(x, layer.weight.double() ** 2, layer.bias.double() ** 2, layer.stride, layer.padding)
        elif isinstance(layer, nn.Linear):
            x = F.linear(x, layer.weight.double() ** 2, layer.bias.double() ** 2)
        elif isinstance(layer, nn.BatchNorm2d):
            a = layer.weight.double() / (layer.running_var.double() + layer.eps).sqrt()
            c = layer.bias.double() - layer.running_mean.double() * a
            x = x * (a ** 2).view(1, -1, 1, 1) + (c ** 2).view(1, -1, 1, 1)
        elif isinstance(layer, nn.Flatten):
            x = x.flatten(1)
        else:
            assert isinstance(layer, nn.ReLU) and x.min() >= 0
    return x.sum().item()

OUTPUT = {
    'log-prod-of-fro': math.log(prod_fro), 'sum-of-fro': d * prod_fro ** (1 / d), 'param-norm': sum(fro2),
    'log-prod-of-spec': math.log(prod_spec), 'sum-of-spec': d * prod_spec ** (1 / d),
    'path-norm': path_norm(m, [1, 28, 28]),
    'distance-from-init': math.sqrt(sum((p.detach().double() - W['init.' + k].double()).pow(2).sum().item()
                                        for k, p in m.named_parameters())),
    'param-count': sum(p.numel() for p in m.parameters()),
}
`);
    for (const name of NAMES) {
      const ours = byName(report.measures, name);
      assert.equal(ours.error, undefined, `${name}: ${ours.error}`);
      // Norms in float64 on both sides; the path norm's forward pass runs in float32 here.
      const tol = name === 'path-norm' ? 1e-5 : 1e-9;
      assert.ok(Math.abs(ours.value - ref[name]!) <= tol * Math.max(1, Math.abs(ref[name]!)), `${name}: robusta ${ours.value}, PyTorch ${ref[name]}`);
      if (process.env.ROBUSTA_TEST_VERBOSE) console.log(`${name}: ${ours.value} (PyTorch ${ref[name]}), ${ours.seconds.toFixed(3)} s`);
    }
    // Not vacuous: training moved the weights; the balanced sum differs from the plain sum (AM ≥ GM, strict here).
    assert.ok(byName(report.measures, 'distance-from-init').value > 0.1);
    assert.ok(byName(report.measures, 'param-norm').value > byName(report.measures, 'sum-of-fro').value);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('path norm is Σ over paths of Π w², bias paths included (explicit enumeration on an MLP), with Normalize and BatchNorm', { skip: skipWithoutPyTorch }, () => {
  torch.manualSeed(11);
  const mlp = new Sequential(new Linear(5, 4), new ReLU(), new Linear(4, 3));
  // A conv net with an input normaliser and a BatchNorm whose running statistics are not trivial.
  const conv = new Sequential(new Normalize([0.4], [0.3]), new Conv2d(1, 3, 3, { stride: 2, padding: 1 }), new BatchNorm2d(3), new ReLU(),
    new Flatten(), new Linear(3 * 4 * 4, 2));
  const bn = conv.at(2) as BatchNorm2d;
  tidy(() => torch.noGrad(() => {
    bn.runningMean!.copy_(torch.randn([3]));
    bn.runningVar!.copy_(torch.rand([3]).add(0.5));
    bn.weight!.copy_(torch.randn([3]));
    bn.bias!.copy_(torch.randn([3]));
  }));
  const before = snapshot(conv);
  const ours = { mlp: pathNorm(mlp, [5]), conv: pathNorm(conv, [1, 8, 8]) };
  assertSameBytes(before, snapshot(conv), 'after pathNorm');
  const tensors: Record<string, torch.Tensor> = {};
  for (const [k, t] of mlp.stateDict()) tensors[`mlp.${k}`] = t;
  for (const [k, t] of conv.stateDict()) tensors[`conv.${k}`] = t;
  const dir = writeTensors(tensors);
  try {
    const ref = runPython<{ mlp: number; conv: number }>(`${measuresPrelude()}
import itertools
import torch.nn.functional as F
W = {k: v.double() for k, v in load_tensors(${JSON.stringify(dir)}).items()}
W1, b1, W2, b2 = W['mlp.0.weight'], W['mlp.0.bias'], W['mlp.2.weight'], W['mlp.2.bias']
total = 0.0
for i, j, k in itertools.product(range(5), range(4), range(3)):   # input → hidden → output paths
    total += (W1[j, i] ** 2 * W2[k, j] ** 2).item()
for j, k in itertools.product(range(4), range(3)):                # paths from the hidden biases
    total += (b1[j] ** 2 * W2[k, j] ** 2).item()
total += (b2 ** 2).sum().item()                                    # paths from the output biases
# The conv net: Normalize (x − m)/s is the affine map x/s + (−m/s), squared: x/s² + (m/s)².
m, s = 0.4, 0.3
x = torch.ones(1, 1, 8, 8, dtype=torch.float64) / s ** 2 + (m / s) ** 2
x = F.conv2d(x, W['conv.1.weight'] ** 2, W['conv.1.bias'] ** 2, stride=2, padding=1)
a = W['conv.2.weight'] / (W['conv.2.running_var'] + 1e-5).sqrt()
c = W['conv.2.bias'] - W['conv.2.running_mean'] * a
x = x * (a ** 2).view(1, -1, 1, 1) + (c ** 2).view(1, -1, 1, 1)
x = F.linear(x.flatten(1), W['conv.5.weight'] ** 2, W['conv.5.bias'] ** 2)
OUTPUT = {'mlp': total, 'conv': x.sum().item()}
`);
    for (const k of ['mlp', 'conv'] as const) {
      assert.ok(Math.abs(ours[k] - ref[k]) <= 1e-5 * ref[k], `${k}: robusta ${ours[k]}, PyTorch ${ref[k]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NaN weights give NaN values (no error) and the other weights are untouched', () => {
  const broken = smallCnn(5);
  tidy(() => torch.noGrad(() => (broken.at(3) as Conv2d).weight.narrow(0, 0, 1).fill_(NaN)));
  const init = smallCnn(6).stateDict();
  const before = snapshot(broken);
  const report = computeMeasures(broken, data, { ...settings, measures: NAMES, initialState: init });
  assertSameBytes(before, snapshot(broken), 'NaN model');
  for (const m of report.measures) {
    assert.equal(m.error, undefined, `${m.name}: ${m.error}`);
    if (m.name === 'param-count') assert.equal(m.value, broken.numParameters());
    else assert.ok(Number.isNaN(m.value), `${m.name} = ${m.value}, expected NaN`);
  }
  assert.match(report.warnings.join('\n'), /3\.weight/);
  torch.dispose(init);
});

test('a layer the path norm does not support is a MeasureError naming it; the other norms still work', () => {
  torch.manualSeed(2);
  const pooled = new Sequential(new Conv2d(1, 4, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 14 * 14, 10));
  assert.throws(() => pathNorm(pooled, [1, 28, 28]), (e: unknown) => e instanceof MeasureError && /'2'/.test(e.message) && /MaxPool2d/.test(e.message));
  const report = computeMeasures(pooled, data, { ...settings, measures: ['path-norm', 'log-prod-of-spec', 'param-count'] });
  const pn = byName(report.measures, 'path-norm');
  assert.ok(Number.isNaN(pn.value));
  assert.match(pn.error ?? '', /path-norm: unsupported layer '2' \(MaxPool2d\)/);
  assert.ok(Number.isFinite(byName(report.measures, 'log-prod-of-spec').value));
  assert.equal(byName(report.measures, 'param-count').value, 4 * 9 + 4 + 4 * 14 * 14 * 10 + 10);
});

test('distance from init: missing initial weights are reported; mismatched keys and shapes are MeasureErrors naming them', () => {
  const missing = byName(computeMeasures(model, data, { ...settings, measures: ['distance-from-init'] }).measures, 'distance-from-init');
  assert.ok(Number.isNaN(missing.value));
  assert.match(missing.error ?? '', /needs the initial weights/);

  const lacking = new Map(initial);
  lacking.delete('6.bias');
  assert.throws(() => distanceFromInit(model, lacking), (e: unknown) => e instanceof MeasureError && /'6\.bias'/.test(e.message));
  const extra = new Map(initial);
  const stray = torch.zeros([2]);
  extra.set('9.weight', stray);
  assert.throws(() => distanceFromInit(model, extra), (e: unknown) => e instanceof MeasureError && /9\.weight/.test(e.message));
  const reshaped = new Map(initial);
  const wrong = torch.zeros([8, 1, 9]);
  reshaped.set('0.weight', wrong);
  const r = byName(computeMeasures(model, data, { ...settings, measures: ['distance-from-init'], initialState: reshaped }).measures,
    'distance-from-init');
  assert.ok(Number.isNaN(r.value));
  assert.match(r.error ?? '', /'0\.weight' is \[8, 1, 3, 3\] in the model but \[8, 1, 9\]/);
  // The model's own weights as the "initial" ones: distance 0 exactly.
  tidy(() => assert.equal(distanceFromInit(model, model.stateDict()), 0));
  stray.dispose();
  wrong.dispose();
});
