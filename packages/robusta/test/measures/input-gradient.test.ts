// Input-gradient norms against PyTorch's autograd: ∇ₓ of each example's own cross-entropy, its L1
// and L2 norms, on the clean examples and on the PGD examples robusta computed (passed to PyTorch).
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  adversarialExamples, assertClosePerExample, assertNaNWithoutCrash, assertRepeatable, fixture, measure, oracleSkip, python,
} from './example-measures.js';

const f = fixture();
const NAMES = ['input-grad-l1-clean', 'input-grad-l2-clean', 'input-grad-l1-adv', 'input-grad-l2-adv'];

test('input-gradient norms (L1, L2; clean, PGD) equal PyTorch\'s per example', { skip: oracleSkip }, () => {
  const got = measure(f.model, f.data, NAMES);
  const adv = adversarialExamples(f.model, f.data);
  const ref = python(f.model, { x: f.x, y: f.y, adv }, `
for key in ('x', 'adv'):
    xg = W[key].clone().requires_grad_(True)
    g, = torch.autograd.grad(F.cross_entropy(M(xg), W['y'], reduction='sum'), [xg])
    name = 'clean' if key == 'x' else 'adv'
    out['l1-' + name] = vnorm(g, 1)
    out['l2-' + name] = vnorm(g, 2)
`);
  for (const name of NAMES) {
    const key = name.replace('input-grad-', '');
    const m = got.get(name)!;
    assertClosePerExample(m.perExample, ref[key]!, name, 1e-6, 1e-4);
    const want = ref[key]!.toFlatArray();
    assert.ok(Math.abs(m.value - want.reduce((s, v) => s + v, 0) / want.length) <= 1e-4 * Math.abs(m.value), `${name}: mean ${m.value}`);
  }
  // PGD climbs the loss to where it is steeper: the adversarial measure sees the attacked inputs.
  assert.ok(got.get('input-grad-l2-adv')!.value > 1.5 * got.get('input-grad-l2-clean')!.value);
  adv.dispose();
  for (const t of Object.values(ref)) t.dispose();
});

test('input gradients: the same call twice gives the same numbers', () => {
  assertRepeatable(f, NAMES);
});

test('input gradients: NaN weights give NaN, not a crash', () => {
  assertNaNWithoutCrash(NAMES, f.data);
});
