// Local Lipschitzness against the same ascent written in plain PyTorch, replaying robusta's random
// draws (same seed, one randn per batch of the same shape: PyTorch's numbers). PyTorch also checks
// what does not depend on the replay: each estimate is at least the ratio at the start point and at
// least the ratio of an independent random point of the ball.
import assert from 'node:assert/strict';
import test from 'node:test';
import { LOCAL_LIPSCHITZ } from '../../src/measures/local-lipschitz.js';
import { assertClosePerExample, assertNaNWithoutCrash, assertRepeatable, fixture, measure, oracleSkip, python, SETTINGS } from './example-measures.js';

const f = fixture();
const r = SETTINGS.attack!.eps!;

test('local Lipschitz equals a plain-PyTorch projected signed-gradient ascent, per example', { skip: oracleSkip }, () => {
  const got = measure(f.model, f.data, ['local-lipschitz']).get('local-lipschitz')!;
  const ref = python(f.model, { x: f.x }, `
x = W['x']
r, alpha, bs = ${r}, ${r * LOCAL_LIPSCHITZ.stepFraction}, ${SETTINGS.batchSize}
def ratio(fx, z, x0, xp):
    return torch.linalg.vector_norm(fx - z, 1, dim=1) / vnorm(x0 - xp, float('inf')).clamp_min(${LOCAL_LIPSCHITZ.minDenominator})
torch.manual_seed(${SETTINGS.seed})
best_all, start_all, steps_in_ball = [], [], True
for s in range(0, x.shape[0], bs):
    xb = x[s:s + bs]
    with torch.no_grad():
        fx = M(xb)
    xp = proj_linf(xb + torch.randn(xb.shape) * ${LOCAL_LIPSCHITZ.startNoise}, xb, r)
    best = None
    for k in range(${LOCAL_LIPSCHITZ.steps}):
        xg = xp.detach().requires_grad_(True)
        v = ratio(fx, M(xg), xb, xg)
        g, = torch.autograd.grad(v.sum(), [xg])
        if k == 0:
            start_all.append(v.detach())
        best = v.detach() if best is None else torch.maximum(best, v.detach())
        xp = proj_linf(xp + g.sign() * alpha, xb, r)
        steps_in_ball = steps_in_ball and bool((xp - xb).abs().max() <= r + 1e-6)
    with torch.no_grad():
        best_all.append(torch.maximum(best, ratio(fx, M(xp), xb, xp)))
out['lip'] = torch.cat(best_all)
out['start'] = torch.cat(start_all)
out['in_ball'] = torch.tensor(steps_in_ball)
# A random corner of the ball, from an independent stream: a lower bound of the maximum.
g = torch.Generator().manual_seed(12345)
corner = (x + torch.randint(0, 2, x.shape, generator=g).float().mul(2).sub(1) * r).clamp(0, 1)
with torch.no_grad():
    out['corner'] = ratio(M(x), M(corner), x, corner)
`);
  assert.equal(ref.in_ball!.item(), 1, 'the reference left the ball');
  assertClosePerExample(got.perExample, ref.lip!, 'local-lipschitz', 1e-4, 1e-4);
  const lip = got.perExample!;
  const start = ref.start!.toFlatArray();
  const corner = ref.corner!.toFlatArray();
  lip.forEach((v, i) => {
    assert.ok(v >= start[i]! * (1 - 1e-6), `example ${i}: estimate ${v} below the ratio at the start point ${start[i]}`);
    assert.ok(v >= corner[i]! * (1 - 1e-6), `example ${i}: estimate ${v} below a random corner of the ball ${corner[i]}`);
  });
  // The ascent finds far steeper directions than a random corner of the ball (measured: 148 vs 29).
  const meanOf = (v: number[]) => v.reduce((s, u) => s + u, 0) / v.length;
  assert.ok(meanOf(lip) > 2 * meanOf(corner), `mean estimate ${meanOf(lip)} vs mean random-corner ratio ${meanOf(corner)}`);
  assert.ok(Math.abs(got.value - meanOf(lip)) <= 1e-9 * Math.abs(got.value));
  for (const t of Object.values(ref)) t.dispose();
});

test('local Lipschitz: the same call twice gives the same numbers; another seed another start', () => {
  assertRepeatable(f, ['local-lipschitz']);
  const a = measure(f.model, f.data, ['local-lipschitz']).get('local-lipschitz')!;
  const b = measure(f.model, f.data, ['local-lipschitz'], { ...SETTINGS, seed: SETTINGS.seed! + 1 }).get('local-lipschitz')!;
  assert.notDeepEqual(a.perExample, b.perExample);
});

test('local Lipschitz: NaN weights give NaN, not a crash', () => {
  assertNaNWithoutCrash(['local-lipschitz'], f.data);
});
