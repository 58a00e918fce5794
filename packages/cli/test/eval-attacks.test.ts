// robusta eval with any attack of the library, as a user runs it: attack lists with parameters read by
// the registry, per-attack and worst-case accuracy equal to the library's evaluation of the same
// attacks, adversarial examples saved as safetensors and read back, targeted options.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { attacks, data, evaluation, io, models, torch } from 'robusta';
import { pythonPath } from '@robusta/torch/testing';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ROBUSTA_NUM_THREADS: '1' } });
torch.setNumThreads(1);

const dir = mkdtempSync(join(tmpdir(), 'robusta-eval-attacks-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A briefly trained MNIST MLP (robusta train), shared by the tests of this file. */
let checkpoint: string | null = null;
function trained(): string {
  if (checkpoint) return checkpoint;
  const out = join(dir, 'run');
  const t = cli(['train', '--model', 'mnist-mlp', '--defense', 'standard', '--epochs', '1', '--n-train', '3000', '--batch-size', '64',
    '--lr', '0.05', '--eval-n', '64', '--out', out]);
  assert.equal(t.status, 0, t.stderr);
  checkpoint = join(out, 'last.pt');
  return checkpoint;
}

test('robusta eval --attacks "fgsm,pgd(steps=5,alpha=0.02)": per-attack and worst-case accuracy equal the library\'s, --save-adv reads back', { timeout: 300_000 }, () => {
  const weights = trained();
  const saved = join(dir, 'adv.safetensors');
  const r = cli(['eval', '--model', 'mnist-mlp', '--weights', weights, '--n', '200', '--batch-size', '100', '--eps', '0.1',
    '--attacks', 'fgsm, pgd(steps=5, alpha=0.02)', '--seed', '3', '--save-adv', saved, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as evaluation.BenchmarkReport & { savedAdversarial: string };
  assert.deepEqual(Object.keys(report.robustAccuracy), ['FGSM', 'pgd(steps=5,alpha=0.02)']);
  assert.match(report.table, /^FGSM +\| +[\d.]+%$/m);
  assert.match(report.table, /^pgd\(steps=5,alpha=0\.02\) +\| +[\d.]+%$/m);
  assert.match(report.table, /^Worst case +\| +[\d.]+%$/m);
  assert.equal(report.savedAdversarial, saved);

  // The library, on the same weights, examples and seed, with the attacks the registry builds.
  const net = models.createModel('mnist-mlp');
  const state = io.loadStateDict(weights);
  net.loadStateDict(state);
  net.eval();
  const testSet = data.loadMnist('test');
  const lib = evaluation.benchmarkRobustness(net, testSet, {
    n: 200, batchSize: 100, eps: 0.1, seed: 3, attacks: [
      { name: 'FGSM', attack: new attacks.FGSM(net, { eps: 0.1, seed: 3 }) },
      { name: 'pgd(steps=5,alpha=0.02)', attack: attacks.createAttack(net, 'pgd(steps=5,alpha=0.02)', { norm: 'Linf', eps: 0.1, seed: 3 }) },
    ],
  });
  assert.deepEqual(report.robustAccuracy, lib.robustAccuracy);
  assert.equal(report.worstCaseAccuracy, lib.worstCaseAccuracy);
  assert.equal(report.cleanAccuracy, lib.cleanAccuracy);
  assert.ok(lib.robustAccuracy.FGSM! < lib.cleanAccuracy - 0.05, 'the attacks must fool some examples for the check to mean something');

  // The saved file: torchattacks' keys, the first 200 labels, predictions that give the reported accuracies.
  const file = io.loadSafetensors(saved);
  const t = (k: string) => file.tensors.get(k)!;
  assert.deepEqual([...file.tensors.keys()].sort(), ['adv_inputs', 'adv_inputs.FGSM', 'adv_inputs.pgd(steps=5,alpha=0.02)', 'clean_preds', 'labels', 'preds',
    'preds.FGSM', 'preds.pgd(steps=5,alpha=0.02)'].sort());
  assert.deepEqual(t('adv_inputs').shape, [200, 1, 28, 28]);
  assert.equal(file.metadata.eps, '0.1');
  torch.tidy(() => {
    const first = evaluation.firstExamples(testSet, 200);
    assert.deepEqual(t('labels').toFlatArray(), first.y.toFlatArray());
    const clean = t('clean_preds').eq(t('labels'));
    const acc = (k: string) => clean.logicalAnd(t(k).eq(t('labels'))).sum().item() / 200;
    assert.equal(acc('preds.FGSM'), report.robustAccuracy.FGSM);
    assert.equal(acc('preds.pgd(steps=5,alpha=0.02)'), report.robustAccuracy['pgd(steps=5,alpha=0.02)']);
    assert.equal(acc('preds'), report.worstCaseAccuracy, 'adv_inputs/preds are not the worst case');
    for (const k of ['adv_inputs', 'adv_inputs.FGSM', 'adv_inputs.pgd(steps=5,alpha=0.02)']) {
      assert.ok(t(k).sub(first.x).abs().max().item() <= 0.1 + 1e-6, `${k} leaves the ε-ball`);
      // The stored predictions are the model's on the stored images.
      const pred = torch.noGrad(() => net.forward(t(k)).argmax(1));
      assert.deepEqual(pred.toFlatArray(), t(k.replace('adv_inputs', 'preds')).toFlatArray(), k);
    }
    first.x.dispose();
    first.y.dispose();
  });
  // Python's safetensors reads it too, where it is installed.
  const py = spawnSync(pythonPath(), ['-c', `
from safetensors.torch import load_file
d = load_file(${JSON.stringify(saved)})
print(sorted(d.keys()), list(d['adv_inputs'].shape), str(d['labels'].dtype))`], { encoding: 'utf8' });
  if (py.status === 0) assert.match(py.stdout, /'adv_inputs'.*\[200, 1, 28, 28\] torch\.int64/);
  else if (process.env.ROBUSTA_TEST_VERBOSE) console.log('Python safetensors not installed: read back by robusta only');
  for (const x of file.tensors.values()) x.dispose();
  for (const x of state.values()) x.dispose();
  net.dispose();
  testSet.dispose();
});

test('robusta eval: targeted attacks (--target CLASS, --targeted), MultiAttack, any attack from the registry', { timeout: 300_000 }, () => {
  const weights = trained();
  const r = cli(['eval', '--model', 'mnist-mlp', '--weights', weights, '--n', '100', '--eps', '0.2',
    '--attacks', 'pgd(steps=10),multiattack(fgsm,bim(steps=5)),jsma(gamma=0.03)', '--target', '3', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as evaluation.BenchmarkReport;
  assert.deepEqual(Object.keys(report.robustAccuracy), ['pgd(steps=10)', 'multiattack(fgsm,bim(steps=5))', 'jsma(gamma=0.03)']);
  for (const v of Object.values(report.robustAccuracy)) assert.ok(v < report.cleanAccuracy, 'a targeted attack changed nothing');
  const random = cli(['eval', '--model', 'mnist-mlp', '--weights', weights, '--n', '50', '--attacks', 'fgsm(eps=0.2)', '--targeted', '--json']);
  assert.equal(random.status, 0, random.stderr);
  const bad = cli(['eval', '--model', 'mnist-mlp', '--weights', weights, '--n', '50', '--attacks', 'deepfool', '--targeted']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /deepfool has no targeted mode; attacks with one: .*pgd/);
  const target = cli(['eval', '--model', 'mnist-mlp', '--weights', weights, '--attacks', 'fgsm', '--target', 'eleven']);
  assert.equal(target.status, 2);
  assert.match(target.stderr, /--target 'eleven': no such class \(0, 1, 2, 3, 4, 5, 6, 7, 8, 9\)/);
});


test('robusta eval warns about NaN weights naming the tensor, and runs with --random-weights', { timeout: 120_000 }, () => {
  // A checkpoint with NaN in one tensor.
  const net = models.createModel('mnist-mlp');
  const state = net.stateDict();
  const name = [...state.keys()][0]!;
  const poisoned = new Map(state);
  poisoned.set(name, torch.tidy(() => torch.keep(state.get(name)!.clone().fill_(Number.NaN))));
  const nanFile = join(dir, 'nan.pt');
  io.saveTorchFile(nanFile, poisoned);
  const nan = cli(['eval', '--model', 'mnist-mlp', '--weights', nanFile, '--n', '20', '--attacks', 'fgsm']);
  assert.equal(nan.status, 0, nan.stderr);
  assert.match(nan.stderr, new RegExp(`warning: .*nan\\.pt: tensor '${name.replace(/\./g, '\\.')}' has \\d+ NaN values \\(of \\d+\\)`));
  const random = cli(['eval', '--model', 'mnist-mlp', '--random-weights', '--n', '20', '--attacks', 'fgsm']);
  assert.equal(random.status, 0, random.stderr);
  assert.match(random.stdout, /^FGSM +\|/m);

  for (const t of state.values()) t.dispose();
  poisoned.get(name)!.dispose();
  net.dispose();
});
