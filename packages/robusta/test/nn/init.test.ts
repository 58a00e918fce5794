// Default initialisation follows PyTorch 1.13: the statistics of each scheme, and with the same seed
// the very same values as PyTorch draws.
import test from 'node:test';
import assert from 'node:assert/strict';
import { empty, manualSeed, type Tensor, tidy } from '@robusta/torch';
import { pyTorchSkip, maxAbsDiff, runPython, type PyTensor } from '@robusta/torch/testing';
import { BatchNorm2d, Conv2d, init, Linear } from '../../src/nn/index.js';
import { once } from './support/python.js';

function stats(t: Tensor): { min: number; max: number; mean: number; variance: number } {
  const v = t.toFlatArray();
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of v) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  const mean = sum / v.length;
  let sq = 0;
  for (const x of v) sq += (x - mean) ** 2;
  return { min, max, mean, variance: sq / v.length };
}

/** Checks U(−b, b): inside the bounds, reaching near them, mean ≈ 0 and variance ≈ b²/3. */
function assertUniform(t: Tensor, bound: number, what: string): void {
  const s = stats(t);
  assert.ok(s.min >= -bound && s.max <= bound, `${what}: values within ±${bound} (got ${s.min}..${s.max})`);
  assert.ok(s.min < -0.98 * bound && s.max > 0.98 * bound, `${what}: values reach the bounds`);
  assert.ok(Math.abs(s.mean) < 0.02 * bound, `${what}: mean ${s.mean}`);
  const expected = bound ** 2 / 3;
  assert.ok(Math.abs(s.variance - expected) < 0.03 * expected, `${what}: variance ${s.variance} vs ${expected}`);
}

test('Linear and Conv2d weights and biases are U(±1/√fan_in) (kaiming_uniform_ with a = √5)', () => tidy(() => {
  manualSeed(1);
  const lin = new Linear(1000, 500);
  assertUniform(lin.weight, 1 / Math.sqrt(1000), 'Linear weight');
  const wide = new Linear(50, 20000);
  assertUniform(wide.bias!, 1 / Math.sqrt(50), 'Linear bias');
  const conv = new Conv2d(64, 128, 3);
  assertUniform(conv.weight, 1 / Math.sqrt(64 * 9), 'Conv2d weight');
  const grouped = new Conv2d(64, 2048, 3, { groups: 4 });
  assertUniform(grouped.bias!, 1 / Math.sqrt(16 * 9), 'grouped Conv2d bias');
  for (const m of [lin, wide, conv, grouped]) m.dispose();
}));

test('BatchNorm2d starts with weight 1, bias 0, running mean 0, variance 1, count 0 (int64)', () => tidy(() => {
  const bn = new BatchNorm2d(8);
  assert.deepEqual(bn.weight!.toFlatArray(), new Array(8).fill(1));
  assert.deepEqual(bn.bias!.toFlatArray(), new Array(8).fill(0));
  assert.deepEqual(bn.runningMean!.toFlatArray(), new Array(8).fill(0));
  assert.deepEqual(bn.runningVar!.toFlatArray(), new Array(8).fill(1));
  assert.equal(bn.numBatchesTracked!.dtype, 'int64');
  assert.deepEqual(bn.numBatchesTracked!.shape, []);
  assert.equal(bn.numBatchesTracked!.item(), 0);
  assert.ok(bn.weight!.requiresGrad && !bn.runningMean!.requiresGrad);
  bn.dispose();
}));

test('kaiming, xavier and constant initialisers have the documented statistics', () => tidy(() => {
  manualSeed(2);
  const w = empty([256, 128, 3, 3]);
  const fanIn = 128 * 9;
  const fanOut = 256 * 9;
  init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
  const s = stats(w);
  assert.ok(Math.abs(Math.sqrt(s.variance) - Math.sqrt(2 / fanOut)) < 0.01 * Math.sqrt(2 / fanOut), `kaiming normal std ${Math.sqrt(s.variance)}`);
  assertUniform(init.kaimingUniform_(w), Math.sqrt(6 / fanIn), 'kaiming uniform (relu gain)');
  assertUniform(init.xavierUniform_(w, 2), 2 * Math.sqrt(6 / (fanIn + fanOut)), 'xavier uniform');
  const x = stats(init.xavierNormal_(w));
  assert.ok(Math.abs(Math.sqrt(x.variance) - Math.sqrt(2 / (fanIn + fanOut))) < 0.01 * Math.sqrt(2 / (fanIn + fanOut)));
  assert.deepEqual(new Set(init.constant_(w, 0.25).toFlatArray()), new Set([0.25]));
  assert.deepEqual(new Set(init.zeros_(w).toFlatArray()), new Set([0]));
  assert.equal(init.calculateGain('tanh'), 5 / 3);
  assert.equal(init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
  assert.deepEqual(init.fans([10, 4, 3, 3]), { fanIn: 36, fanOut: 90 });
  assert.throws(() => init.kaimingUniform_(empty([5])), /at least 2 dims/);
}));

const skip = pyTorchSkip();
const SEED = 4242;
const reference = once(() => runPython<Record<string, PyTensor>>(`
import torch.nn as nn
torch.manual_seed(${SEED})
conv = nn.Conv2d(3, 8, 5, groups=1)
lin = nn.Linear(20, 7)
w = torch.empty(16, 4, 3, 3)
nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')
x = torch.empty(6, 9)
nn.init.xavier_uniform_(x, gain=1.5)
OUTPUT = {'conv.weight': conv.weight, 'conv.bias': conv.bias, 'lin.weight': lin.weight, 'lin.bias': lin.bias, 'w': w, 'x': x}
`));

test('with the same seed, layers and initialisers draw exactly PyTorch\'s values', { skip }, () => tidy(() => {
  manualSeed(SEED);
  const conv = new Conv2d(3, 8, 5);
  const lin = new Linear(20, 7);
  const w = init.kaimingNormal_(empty([16, 4, 3, 3]), { mode: 'fan_out', nonlinearity: 'relu' });
  const x = init.xavierUniform_(empty([6, 9]), 1.5);
  const r = reference();
  const mine: Record<string, Tensor> = { 'conv.weight': conv.weight, 'conv.bias': conv.bias!, 'lin.weight': lin.weight, 'lin.bias': lin.bias!, w, x };
  for (const [k, t] of Object.entries(mine)) assert.equal(maxAbsDiff(t, r[k]!), 0, `${k} differs from PyTorch's`);
  conv.dispose();
  lin.dispose();
}));
