// Output and input margins against plain PyTorch on the trained small CNN and the same 48 digits.
// Output margins: the PGD examples are replicated in PyTorch from the same seeds (robusta's generator
// draws PyTorch's numbers), the margins and torch.quantile's 10th percentile computed there.
// Input margin L2: DeepFool replicated in PyTorch (one example at a time, python/reference.py).
// Input margin L∞: FAB's points are recomputed in the test with the measure's settings and passed to
// PyTorch, which checks the defining property (they flip the prediction), recomputes ‖δ‖∞, and
// compares with the reference FAB of python/reference.py.
import assert from 'node:assert/strict';
import test from 'node:test';
import { cat, noGrad, type Tensor, tensor, tidy } from '@robusta/torch';
import { FAB } from '../../src/attacks/fab.js';
import { INPUT_MARGIN_DEEPFOOL, INPUT_MARGIN_FAB } from '../../src/measures/margins.js';
import { Flatten, Linear, Sequential } from '../../src/nn/index.js';
import {
  adversarialExamples, assertClosePerExample, assertNaNWithoutCrash, assertRepeatable, fixture, measure, misclassified, oracleSkip, python, SETTINGS,
} from './example-measures.js';

const f = fixture();
const OUTPUT = ['output-margin-clean', 'output-margin-clean-p10', 'output-margin-adv', 'output-margin-adv-p10'];
const a = SETTINGS.attack!;

test('output margins (clean and PGD, mean and 10th percentile) equal PyTorch\'s per example', { skip: oracleSkip }, () => {
  assert.ok(misclassified(f) > 0, 'the sample should hold misclassified examples (negative margins)');
  const got = measure(f.model, f.data, OUTPUT);
  const adv = adversarialExamples(f.model, f.data);
  const ref = python(f.model, { x: f.x, y: f.y, adv }, `
x, y, adv = W['x'], W['y'], W['adv']
bs = ${SETTINGS.batchSize}
# The shared PGD examples: batch b attacked after manual_seed(seed + b).
adv_py = torch.cat([pgd(M, x[s:s + bs], y[s:s + bs], ${a.eps}, ${a.alpha}, ${a.steps}, random_start=True, seed=${SETTINGS.seed} + b)
                    for b, s in enumerate(range(0, x.shape[0], bs))])
def margins(z):
    return z.gather(1, y[:, None]).squeeze(1) - z.scatter(1, y[:, None], float('-inf')).amax(1)
with torch.no_grad():
    out['clean'] = margins(M(x))
    out['adv'] = margins(M(adv_py))
out['adv_py'] = adv_py
out['p10'] = torch.stack([torch.quantile(out['clean'], 0.1), torch.quantile(out['adv'], 0.1)])
`);
  tidy(() => {
    assert.ok(adv.sub(ref.adv_py!).abs().max().item() <= 1e-5, 'the shared PGD examples differ from PyTorch\'s PGD with the same seeds');
    assert.ok(adv.sub(f.x).abs().max().item() > 0.05, 'PGD did not move the examples');
  });
  const [p10Clean, p10Adv] = ref.p10!.toFlatArray();
  for (const [name, key, p10] of [['output-margin-clean', 'clean', p10Clean], ['output-margin-adv', 'adv', p10Adv]] as const) {
    const mean = got.get(name)!;
    const q = got.get(`${name}-p10`)!;
    assertClosePerExample(mean.perExample, ref[key]!, name);
    assertClosePerExample(q.perExample, ref[key]!, `${name}-p10`);
    const want = ref[key]!.toFlatArray();
    assert.ok(Math.abs(mean.value - want.reduce((s, v) => s + v, 0) / want.length) <= 1e-5, `${name}: mean ${mean.value}`);
    assert.ok(Math.abs(q.value - p10!) <= 1e-5, `${name}-p10: ${q.value} vs torch.quantile ${p10}`);
  }
  // PGD lowers the margins: the adversarial measure really sees the attacked inputs.
  assert.ok(got.get('output-margin-adv')!.value < got.get('output-margin-clean')!.value - 1);
  adv.dispose();
  for (const t of Object.values(ref)) t.dispose();
});

test('input margin L2 equals the DeepFool distance of a plain-PyTorch DeepFool (0 when misclassified)', { skip: oracleSkip }, () => {
  const got = measure(f.model, f.data, ['input-margin-l2']).get('input-margin-l2')!;
  const ref = python(f.model, { x: f.x, y: f.y }, `
x, y = W['x'], W['y']
adv = deepfool(M, x, y, ${INPUT_MARGIN_DEEPFOOL.steps}, ${INPUT_MARGIN_DEEPFOOL.overshoot})
with torch.no_grad():
    wrong = M(x).argmax(1) != y
    flipped = M(adv).argmax(1) != y
d = vnorm(adv - x, 2)
out['margin'] = torch.where(wrong, torch.zeros_like(d), torch.where(flipped, d, torch.full_like(d, float('nan'))))
`);
  assertClosePerExample(got.perExample, ref.margin!, 'input-margin-l2', 1e-5, 1e-4);
  const want = ref.margin!.toFlatArray().filter((v) => !Number.isNaN(v));
  assert.ok(want.filter((v) => v > 0).length >= 30, 'most examples should have a positive DeepFool margin');
  assert.ok(Math.abs(got.value - want.reduce((s, v) => s + v, 0) / want.length) <= 1e-5, `mean ${got.value}`);
  for (const t of Object.values(ref)) t.dispose();
});

test('input margin L∞: FAB\'s points flip the prediction in PyTorch, ‖δ‖∞ as PyTorch computes it, close to the reference FAB', { skip: oracleSkip }, () => {
  const got = measure(f.model, f.data, ['input-margin-linf']).get('input-margin-linf')!;
  // The same FAB, batch by batch as the measure runs it: its points go to PyTorch.
  const fab = new FAB(f.model, INPUT_MARGIN_FAB);
  const bs = SETTINGS.batchSize!;
  const points: Tensor = tidy(() => cat([0, 16, 32].map((s) => fab.run(f.x.narrow(0, s, bs), f.y.narrow(0, s, bs)).adv), 0));
  const ref = python(f.model, { x: f.x, y: f.y, points }, `
x, y, pts = W['x'], W['y'], W['points']
with torch.no_grad():
    out['wrong'] = M(x).argmax(1) != y
    out['flipped'] = M(pts).argmax(1) != y
out['linf'] = vnorm(pts - x, float('inf'))
robust, adv_ref = fab(M, x, y, ${INPUT_MARGIN_FAB.eps}, 'Linf', steps=${INPUT_MARGIN_FAB.steps}, alpha_max=${INPUT_MARGIN_FAB.alphaMax},
                      eta=${INPUT_MARGIN_FAB.eta}, beta=${INPUT_MARGIN_FAB.beta})
out['ref_linf'] = torch.where(robust, torch.full([x.shape[0]], float('nan')), vnorm(adv_ref - x, float('inf')))
`);
  const wrong = ref.wrong!.toFlatArray();
  const flipped = ref.flipped!.toFlatArray();
  const linf = ref.linf!.toFlatArray();
  const margins = got.perExample!;
  margins.forEach((m, i) => {
    if (wrong[i]) assert.equal(m, 0, `example ${i} is misclassified: margin ${m}, expected 0`);
    else if (Number.isNaN(m)) assert.ok(!flipped[i], `example ${i}: NaN margin but FAB's point flips the prediction`);
    else {
      assert.ok(flipped[i], `example ${i}: margin ${m} but FAB's point does not flip the prediction in PyTorch`);
      assert.ok(Math.abs(m - linf[i]!) <= 1e-6, `example ${i}: margin ${m} vs ‖δ‖∞ ${linf[i]}`);
    }
  });
  const known = margins.filter((m) => !Number.isNaN(m));
  assert.ok(known.filter((m) => m > 0).length >= 30, 'FAB should find flipping points for most correctly classified examples');
  assert.ok(Math.abs(got.value - known.reduce((s, v) => s + v, 0) / known.length) <= 1e-6);
  // An independent implementation of the same algorithm: per example within 0.2 % (measured ≤ 0.05 %;
  // the box projections are solved differently: exactly here, by bisection in the reference).
  assertClosePerExample(margins, ref.ref_linf!, 'input-margin-linf vs reference FAB', 1e-5, 2e-3);
  points.dispose();
  for (const t of Object.values(ref)) t.dispose();
});

test('input margins: an example the attack cannot flip has no margin (NaN, left out of the mean); a misclassified one has 0', () => {
  // Constant logits favouring class 0: no perturbation flips anything, labels 0 are right, labels 1 wrong.
  const constant = new Sequential(new Flatten(), new Linear(784, 10));
  noGrad(() => {
    constant.parameters()[0]!.zero_();
    constant.parameters()[1]!.zero_().narrow(0, 0, 1).fill_(1);
  });
  const x = f.x.narrow(0, 0, 6);
  const y = tensor([0, 1, 0, 1, 1, 0], { dtype: 'int64' });
  const got = measure(constant, { train: { x, y } }, ['input-margin-l2', 'input-margin-linf'], { ...SETTINGS, n: 6 });
  for (const name of ['input-margin-l2', 'input-margin-linf']) {
    const m = got.get(name)!;
    assert.deepEqual(m.perExample, [NaN, 0, NaN, 0, 0, NaN], name);
    assert.equal(m.value, 0, name);
  }
  y.dispose();
});

test('margins: the same call twice gives the same numbers', () => {
  assertRepeatable(f, [...OUTPUT, 'input-margin-l2']);
});

test('margins: NaN weights give NaN, not a crash', () => {
  assertNaNWithoutCrash([...OUTPUT, 'input-margin-l2', 'input-margin-linf'], f.data);
});
