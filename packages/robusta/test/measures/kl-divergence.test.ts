// KL(p(x) ‖ p(x′)) against TRADES' own expression in PyTorch (KLDivLoss(log_softmax(f(x′)),
// softmax(f(x))) summed over classes), on the PGD examples robusta computed, passed to PyTorch.
import assert from 'node:assert/strict';
import test from 'node:test';
import { tidy } from '@robusta/torch';
import {
  adversarialExamples, assertClosePerExample, assertNaNWithoutCrash, assertRepeatable, fixture, measure, oracleSkip, python, SETTINGS,
} from './example-measures.js';

const f = fixture();

test('KL between clean and PGD predictions equals TRADES\' KL term in PyTorch, per example', { skip: oracleSkip }, () => {
  const got = measure(f.model, f.data, ['kl-clean-adv']).get('kl-clean-adv')!;
  const adv = adversarialExamples(f.model, f.data);
  tidy(() => {
    const moved = adv.sub(f.x).abs();
    assert.ok(moved.max().item() <= SETTINGS.attack!.eps! + 1e-6 && moved.max().item() > 0.05, 'the PGD examples should lie on the ε-ball\'s scale');
  });
  const ref = python(f.model, { x: f.x, adv }, `
with torch.no_grad():
    zc, za = M(W['x']), M(W['adv'])
    out['kl'] = F.kl_div(F.log_softmax(za, 1), F.softmax(zc, 1), reduction='none').sum(1)
    out['reverse'] = F.kl_div(F.log_softmax(zc, 1), F.softmax(za, 1), reduction='none').sum(1)
`);
  assertClosePerExample(got.perExample, ref.kl!, 'kl-clean-adv', 1e-5, 1e-4);
  const kl = ref.kl!.toFlatArray();
  assert.ok(Math.abs(got.value - kl.reduce((s, v) => s + v, 0) / kl.length) <= 1e-5);
  // The direction matters: on these examples KL(p(x′) ‖ p(x)) differs clearly from KL(p(x) ‖ p(x′)).
  const reverse = ref.reverse!.toFlatArray();
  assert.ok(kl.some((v, i) => Math.abs(v - reverse[i]!) > 0.1 * (v + 1e-3)), 'the sample cannot tell the two directions apart');
  adv.dispose();
  for (const t of Object.values(ref)) t.dispose();
});

test('KL: the same call twice gives the same numbers', () => {
  assertRepeatable(f, ['kl-clean-adv']);
});

test('KL: NaN weights give NaN, not a crash', () => {
  assertNaNWithoutCrash(['kl-clean-adv'], f.data);
});
