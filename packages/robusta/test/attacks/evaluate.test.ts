// Dataset-level evaluation: per-attack and worst-case robust accuracy, progress, the result table,
// and resuming from an atomically written checkpoint with the same result.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { tidy } from '@robusta/torch';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { APGD } from '../../src/attacks/apgd.js';
import { Attack, type AttackInput } from '../../src/attacks/attack.js';
import {
  CheckpointMismatchError, evaluateRobustness, type EvaluationProgress, formatResultTable,
} from '../../src/attacks/evaluate.js';
import { FGSM } from '../../src/attacks/fgsm.js';
import { PGD } from '../../src/attacks/pgd.js';
import { TPGD } from '../../src/attacks/tpgd.js';
import { loadMnist, maxDiff, MLP, readTensors, referencePrelude, trainedMnistModel, writeTensors } from './helpers.js';

const model = trainedMnistModel('mlp') as MLP;
const { images, labels } = loadMnist('t10k', 700, 40);
const attacks = () => ({
  FGSM: new FGSM(model, { eps: 0.05 }),
  PGD: new PGD(model, { eps: 0.05, alpha: 0.01, steps: 10 }),  // random start from the per-batch seed
  'APGD-CE': new APGD(model, { eps: 0.05, steps: 20 }),
});

test('evaluation: clean, per-attack and worst-case accuracies agree with running the attacks directly', () => {
  const progress: EvaluationProgress[] = [];
  const result = evaluateRobustness(model, images, labels, attacks(), { batchSize: 16, seed: 3, onProgress: (p) => progress.push(p) });
  assert.equal(result.examples, 40);
  assert.deepEqual(progress.map((p) => [p.batch, p.examples]), [[1, 16], [2, 32], [3, 40]]);
  assert.ok(progress.every((p) => p.batches === 3 && p.total === 40 && !p.resumed));
  assert.equal(progress[2]!.worstCaseAccuracy, result.worstCaseAccuracy);
  tidy(() => {
    const clean = model.forward(images).argmax(1).eq(labels);
    assert.deepEqual(result.perExample.clean, clean.toFlatArray().map(Boolean));
    assert.equal(result.cleanAccuracy, clean.sum().item() / 40);
    // Deterministic attacks give the same verdict per example when run on the whole set at once.
    for (const name of ['FGSM', 'APGD-CE'] as const) {
      const r = attacks()[name].run(images, labels);
      const robust = clean.logicalAnd(r.advPred.eq(labels)).toFlatArray().map(Boolean);
      assert.deepEqual(result.perExample.robust[name], robust, name);
    }
  });
  const worst = result.perExample.clean.map((c, i) => c && Object.values(result.perExample.robust).every((r) => r[i]));
  assert.deepEqual(result.perExample.worstCase, worst);
  assert.ok(result.worstCaseAccuracy <= Math.min(...Object.values(result.robustAccuracy)));
  assert.ok(result.robustAccuracy.FGSM! < result.cleanAccuracy, 'FGSM at ε = 0.05 fooled nothing');
  const table = formatResultTable(result);
  for (const name of ['clean', 'FGSM', 'PGD', 'APGD-CE', 'worst case']) assert.match(table, new RegExp(`^${name} +\\| +\\d+\\.\\d\\d%$`, 'm'));
  assert.match(table, /n = 40/);
});

/** Counts the examples an attack was run on; its random stream is the inner attack's. */
class Counting extends Attack {
  examples = 0;
  constructor(readonly inner: Attack) {
    super(`counting ${inner.name}`, inner.model, {}, { targeted: false });
  }
  protected perturb({ images: x, labels: y }: AttackInput) {
    this.examples += x.shape[0]!;
    return this.inner.run(x, y).adv;
  }
  override resetRandomStream(): void { this.inner.resetRandomStream(); }
  override randomStreamState() { return this.inner.randomStreamState(); }
  override restoreRandomStream(s: Parameters<Attack['restoreRandomStream']>[0]): void { this.inner.restoreRandomStream(s); }
}

const BATCHES = [[0, 16], [16, 16], [32, 8]] as const;

// The issue this pins down: re-seeding at every run() gave every batch of a dataset the same random
// start (TPGD: identical to a PyTorch loop on the first batch, then dozens of images differ per batch,
// because PyTorch code seeds once and draws on). An attack's seed now starts its own stream once.
test('a seeded attack seeds once and draws on across run() calls: batch by batch, what PyTorch draws after seeding once (TPGD, PGD)', { skip: pyTorchSkip() }, () => {
  const dir = writeTensors({ ...model.weights, x: images, y: labels });
  try {
    runPython(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
M = make_model('mlp', T_)
x, y = T_['x'], T_['y']
out = {}
torch.manual_seed(5)
for b, (s, n) in enumerate(${JSON.stringify(BATCHES)}):
    out[f'tpgd{b}'] = tpgd(M, x[s:s + n], 0.1, 0.02, 5)
torch.manual_seed(9)
for b, (s, n) in enumerate(${JSON.stringify(BATCHES)}):
    out[f'pgd{b}'] = pgd(M, x[s:s + n], y[s:s + n], 0.1, 0.02, 5, random_start=True)
save_tensors(D, out)
OUTPUT = None
`);
    const ref = readTensors(dir);
    tidy(() => {
      const before = torch.getRngState().toFlatArray();
      const attacks = { tpgd: new TPGD(model, { eps: 0.1, alpha: 0.02, steps: 5, seed: 5 }), pgd: new PGD(model, { eps: 0.1, alpha: 0.02, steps: 5, seed: 9 }) };
      for (const [name, attack] of Object.entries(attacks)) {
        const first: torch.Tensor[] = [];
        BATCHES.forEach(([s, n], b) => {
          const adv = attack.run(images.narrow(0, s, n), labels.narrow(0, s, n)).adv;
          first.push(adv);
          assert.ok(maxDiff(adv, ref[`${name}${b}`]!) <= 1e-5, `${name}, batch ${b}: differs from PyTorch seeded once by ${maxDiff(adv, ref[`${name}${b}`]!)}`);
        });
        // The stream ran on: the second batch did not get the first one's noise.
        const startOf = (adv: torch.Tensor, s: number) => adv.narrow(0, 0, 8).sub(images.narrow(0, s, 8)).abs().sum().item();
        assert.notEqual(startOf(first[1]!, 16), startOf(first[0]!, 0));
        // resetRandomStream starts again: the first batch draws what it drew the first time.
        attack.resetRandomStream();
        assert.equal(maxDiff(attack.run(images.narrow(0, 0, 16), labels.narrow(0, 0, 16)).adv, first[0]!), 0);
      }
      assert.deepEqual(torch.getRngState().toFlatArray(), before, 'the caller\'s generator was touched');
    });
    for (const t of Object.values(ref)) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Leaves the images as they are and records the random numbers it draws in each run (one per example). */
class Probe extends Attack {
  draws: number[][] = [];
  constructor(seed: number) {
    super('probe', model, { seed }, { targeted: false });
  }
  protected perturb({ images: x }: AttackInput) {
    this.draws.push(torch.rand([x.shape[0]!]).toFlatArray());
    return x.clone();
  }
}

test('evaluateRobustness seeds an attack once per evaluation and lets its stream run on, through a resume too', { skip: pyTorchSkip() }, () => {
  const want = runPython<{ data: number[] }[]>(`
torch.manual_seed(4)
OUTPUT = [torch.rand(n) for n in (16, 16, 8)]
`).map((t) => t.data);
  const probe = new Probe(4);
  evaluateRobustness(model, images, labels, { probe }, { batchSize: 16 });
  assert.deepEqual(probe.draws, want, 'batch by batch, the draws of PyTorch seeded once');
  evaluateRobustness(model, images, labels, { probe }, { batchSize: 16 });
  assert.deepEqual(probe.draws.slice(3), want, 'a second evaluation starts the stream again');
  // Interrupted after two batches, then resumed by a fresh attack object: the third batch still gets
  // the third stretch of the stream, not the first.
  const dir = mkdtempSync(join(tmpdir(), 'robusta-eval-'));
  try {
    const path = join(dir, 'progress.json');
    const crash = new Error('simulated crash');
    assert.throws(() => evaluateRobustness(model, images, labels, { probe: new Probe(4) }, {
      batchSize: 16, checkpointPath: path, onProgress: (p) => { if (p.batch === 2) throw crash; },
    }), (e) => e === crash);
    const resumed = new Probe(4);
    evaluateRobustness(model, images, labels, { probe: resumed }, { batchSize: 16, checkpointPath: path });
    assert.deepEqual(resumed.draws, [want[2]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume: finished batches are recorded atomically, skipped on restart, and the result is the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-eval-'));
  const path = join(dir, 'progress.json');
  try {
    const straight = attacks();
    const uninterrupted = evaluateRobustness(model, images, labels, straight, { batchSize: 16, seed: 3 });
    // First run "crashes" after the second batch is recorded.
    const crash = new Error('simulated crash');
    assert.throws(() => evaluateRobustness(model, images, labels, attacks(), {
      batchSize: 16, seed: 3, checkpointPath: path,
      onProgress: (p) => { if (p.batch === 2) throw crash; },
    }), (e) => e === crash);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { batches: Record<string, unknown> };
    assert.deepEqual(Object.keys(saved.batches).sort(), ['0', '1']);
    assert.deepEqual(readdirSync(dir), ['progress.json'], 'a temporary file was left behind');
    // The restart attacks only the last batch (8 examples) and reproduces the uninterrupted result.
    const counted = Object.fromEntries(Object.entries(attacks()).map(([n, a]) => [n, new Counting(a)]));
    const progress: EvaluationProgress[] = [];
    const resumed = evaluateRobustness(model, images, labels, counted, {
      batchSize: 16, seed: 3, checkpointPath: path, onProgress: (p) => progress.push(p),
    });
    assert.equal(resumed.resumedBatches, 2);
    assert.deepEqual(progress.map((p) => p.resumed), [true, true, false]);
    for (const a of Object.values(counted)) assert.equal(a.examples, 8);
    assert.deepEqual(resumed.perExample, uninterrupted.perExample);
    assert.deepEqual(resumed.robustAccuracy, uninterrupted.robustAccuracy);
    // The seeded attack's stream went on from where the checkpoint recorded it, not from its seed.
    assert.deepEqual(counted['APGD-CE']!.randomStreamState(), straight['APGD-CE'].randomStreamState());
    // A finished checkpoint replays without attacking anything.
    const again = Object.fromEntries(Object.entries(attacks()).map(([n, a]) => [n, new Counting(a)]));
    const replay = evaluateRobustness(model, images, labels, again, { batchSize: 16, seed: 3, checkpointPath: path });
    assert.equal(replay.resumedBatches, 3);
    for (const a of Object.values(again)) assert.equal(a.examples, 0);
    assert.deepEqual(replay.perExample, uninterrupted.perExample);
    // The checkpoint belongs to this data, batch size, seed and set of attacks.
    assert.throws(() => evaluateRobustness(model, images, labels, attacks(), { batchSize: 8, seed: 3, checkpointPath: path }), CheckpointMismatchError);
    assert.throws(() => evaluateRobustness(model, images, labels, { FGSM: attacks().FGSM }, { batchSize: 16, seed: 3, checkpointPath: path }),
      CheckpointMismatchError);
    tidy(() => {
      const other = images.flip(3).contiguous();
      assert.throws(() => evaluateRobustness(model, other, labels, attacks(), { batchSize: 16, seed: 3, checkpointPath: path }), CheckpointMismatchError);
    });
    writeFileSync(path, '{ not json');
    assert.throws(() => evaluateRobustness(model, images, labels, attacks(), { batchSize: 16, seed: 3, checkpointPath: path }), CheckpointMismatchError);
    assert.ok(existsSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evaluation input errors', () => {
  const fgsm = new FGSM(model);
  assert.throws(() => evaluateRobustness(model, images, labels, [fgsm, new FGSM(model)]), RangeError);
  assert.throws(() => evaluateRobustness(model, images, labels, []), RangeError);
  assert.throws(() => evaluateRobustness(model, images, labels, [fgsm], { batchSize: 0 }), RangeError);
  tidy(() => {
    assert.throws(() => evaluateRobustness(model, images, labels.to({ dtype: 'float32' }), [fgsm]), TypeError);
    assert.throws(() => evaluateRobustness(model, images, labels.narrow(0, 0, 5), [fgsm]), RangeError);
  });
});
