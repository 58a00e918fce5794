// Dataset-level evaluation: per-attack and worst-case robust accuracy, progress, the result table,
// and resuming from an atomically written checkpoint with the same result.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { tidy } from '@robusta/torch';
import { APGD } from '../../src/attacks/apgd.js';
import { Attack, type AttackInput } from '../../src/attacks/attack.js';
import {
  CheckpointMismatchError, evaluateRobustness, type EvaluationProgress, formatResultTable,
} from '../../src/attacks/evaluate.js';
import { FGSM } from '../../src/attacks/fgsm.js';
import { PGD } from '../../src/attacks/pgd.js';
import { loadMnist, MLP, trainedMnistModel } from './helpers.js';

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

/** Counts the examples an attack was run on. */
class Counting extends Attack {
  examples = 0;
  constructor(private readonly inner: Attack) {
    super(`counting ${inner.name}`, inner.model, {}, { targeted: false });
  }
  protected perturb({ images: x, labels: y }: AttackInput) {
    this.examples += x.shape[0]!;
    return this.inner.run(x, y).adv;
  }
}

test('resume: finished batches are recorded atomically, skipped on restart, and the result is the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-eval-'));
  const path = join(dir, 'progress.json');
  try {
    const uninterrupted = evaluateRobustness(model, images, labels, attacks(), { batchSize: 16, seed: 3 });
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
