// computeMeasures as a whole: the accuracy family equals robusta's evaluation (pgdAccuracy and the
// robust generalization gap), values do not depend on which other measures ran or in which order,
// bad requests are errors that name what is wrong, and NaN weights give NaN with a warning naming
// the tensor while the other measures are still computed.
import assert from 'node:assert/strict';
import test from 'node:test';
import { noGrad, tidy } from '@robusta/torch';
import { robustGeneralizationGap } from '../../src/eval/generalization-gap.js';
import { computeMeasures, listMeasures, MeasureError, selectMeasures } from '../../src/measures/index.js';
import { byName, loadMnist, trainedSmallCnn } from './support.js';

const model = trainedSmallCnn();
const train = loadMnist('train', 0, 96);
const testSplit = loadMnist('t10k', 0, 96);
const data = { train: { x: train.images, y: train.labels }, test: { x: testSplit.images, y: testSplit.labels } };
const settings = { n: 96, batchSize: 32, seed: 5, attack: { eps: 0.1, alpha: 0.025, steps: 4 } };

test('accuracy measures equal robusta\'s PGD evaluation and robust generalization gap (same seed and batches)', () => {
  const r = computeMeasures(model, data, { ...settings, measures: ['pgd-acc-train', 'pgd-acc-test', 'robust-gap', 'clean-acc-train', 'clean-acc-test'] });
  const gap = robustGeneralizationGap(model, data.train, data.test, { n: 96, batchSize: 32, seed: 5, eps: 0.1, alpha: 0.025, steps: 4 });
  assert.equal(byName(r.measures, 'pgd-acc-train').value, gap.trainRobustAccuracy);
  assert.equal(byName(r.measures, 'pgd-acc-test').value, gap.testRobustAccuracy);
  assert.equal(byName(r.measures, 'robust-gap').value, gap.robustGap);
  assert.equal(byName(r.measures, 'clean-acc-train').value, gap.trainCleanAccuracy);
  assert.equal(byName(r.measures, 'clean-acc-test').value, gap.testCleanAccuracy);
  assert.ok(gap.trainRobustAccuracy > 0 && gap.trainRobustAccuracy < gap.trainCleanAccuracy, 'the PGD examples must matter on this model');
  assert.equal(byName(r.measures, 'pgd-acc-train').perExample!.length, 96);
});

test('a measure\'s value does not depend on the others computed with it, nor on their order', () => {
  const names = ['boundary-thickness', 'local-lipschitz', 'output-margin-adv', 'average-flatness', 'adv-loss'];
  const forward = computeMeasures(model, data, { ...settings, measures: names });
  const backward = computeMeasures(model, data, { ...settings, measures: [...names].reverse() });
  for (const n of names) {
    const alone = computeMeasures(model, data, { ...settings, measures: [n] });
    assert.equal(byName(forward.measures, n).value, byName(alone.measures, n).value, `${n}: with others vs alone`);
    assert.equal(byName(backward.measures, n).value, byName(alone.measures, n).value, `${n}: reversed order vs alone`);
    assert.ok(Number.isFinite(byName(alone.measures, n).value), `${n} is not finite`);
  }
  const otherSeed = computeMeasures(model, data, { ...settings, seed: 6, measures: ['local-lipschitz'] });
  assert.notEqual(byName(otherSeed.measures, 'local-lipschitz').value, byName(forward.measures, 'local-lipschitz').value, 'the seed has no effect');
});

test('bad requests: unknown names, empty subsets, bad settings', () => {
  assert.throws(() => computeMeasures(model, data, { measures: ['output-margin-clean', 'no-such'] }),
    (e: Error) => e instanceof MeasureError && /unknown measure 'no-such' \(known: clean-loss, .*boundary-thickness; or 'all', 'cheap'\)/.test(e.message));
  assert.throws(() => computeMeasures(model, data, { measures: '' }), /selection is empty/);
  const empty = { train: { x: train.images.narrow(0, 0, 0), y: train.labels.narrow(0, 0, 0) } };
  assert.throws(() => computeMeasures(model, empty, { measures: ['clean-loss'] }), /must agree and be non-empty/);
  assert.throws(() => computeMeasures(model, data, { n: 0 }), /n must be an integer >= 1, got 0/);
  assert.throws(() => computeMeasures(model, data, { attack: { eps: -1 } }), /attack\.eps must be a finite number >= 0, got -1/);
  // Measures whose input is missing report why, the others still run.
  const r = computeMeasures(model, { train: data.train }, { ...settings, measures: ['distance-from-init', 'robust-gap', 'clean-loss'] });
  assert.match(byName(r.measures, 'distance-from-init').error!, /needs the initial weights/);
  assert.match(byName(r.measures, 'robust-gap').error!, /needs the test split/);
  assert.ok(Number.isNaN(byName(r.measures, 'robust-gap').value));
  assert.ok(Number.isFinite(byName(r.measures, 'clean-loss').value));
});

test('NaN weights: a warning names the tensor, affected measures are NaN, weight-only ones of other layers still computed', () => {
  const broken = trainedSmallCnn();
  tidy(() => noGrad(() => broken.getSubmodule('6').getParameter('weight')!.narrow(0, 0, 1).fill_(NaN)));
  const r = computeMeasures(broken, data, { ...settings, measures: ['clean-loss', 'output-margin-clean', 'param-count', 'log-prod-of-fro'] });
  assert.deepEqual(r.warnings, ['non-finite values (NaN or Inf) in 6.weight: measures that use them are NaN']);
  assert.ok(Number.isNaN(byName(r.measures, 'clean-loss').value));
  assert.ok(Number.isNaN(byName(r.measures, 'output-margin-clean').value));
  assert.ok(Number.isNaN(byName(r.measures, 'log-prod-of-fro').value));
  assert.equal(byName(r.measures, 'param-count').value, broken.numParameters());
  broken.dispose();
});

test('the registry: unique names, every family, selections all and cheap', () => {
  const all = listMeasures();
  assert.equal(new Set(all.map((m) => m.name)).size, all.length);
  assert.deepEqual([...new Set(all.map((m) => m.family))].sort(),
    ['accuracy', 'boundary-thickness', 'flatness', 'margin', 'smoothness', 'weight-norm']);
  assert.deepEqual(selectMeasures('all'), [...all]);
  const cheap = selectMeasures('cheap');
  assert.ok(cheap.length > 10 && cheap.every((m) => m.cost === 'cheap'));
  assert.deepEqual(selectMeasures('cheap,input-margin-l2').map((m) => m.name), [...cheap.map((m) => m.name), 'input-margin-l2']);
  for (const m of all) {
    assert.ok(m.reference.length > 10 && m.description.length > 10 && m.unit.length > 0, `${m.name}: reference, description and unit`);
  }
});
