// The deterministic attacks against plain-PyTorch implementations of the same published algorithms
// (python/reference.py) on the same models, inputs and seeds.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { type Tensor, tidy } from '@robusta/torch';
import type { Attack } from '../../src/attacks/attack.js';
import { BIM } from '../../src/attacks/bim.js';
import { CW } from '../../src/attacks/cw.js';
import { DeepFool } from '../../src/attacks/deepfool.js';
import { FGSM } from '../../src/attacks/fgsm.js';
import { MIFGSM } from '../../src/attacks/mifgsm.js';
import { PGD } from '../../src/attacks/pgd.js';
import { PGDL2 } from '../../src/attacks/pgdl2.js';
import { TPGD } from '../../src/attacks/tpgd.js';
import { loadMnist, maxDiff, readTensors, referencePrelude, trainedMnistModel, writeTensors } from './helpers.js';

interface Case {
  name: string;
  make: (m: ReturnType<typeof trainedMnistModel>) => Attack;
  /** The Python call, over model M, inputs x, y, targets t. */
  py: string;
  targeted?: boolean;
  /** Max |robusta − PyTorch| allowed on the adversarial images. */
  tol: number;
}

// Gradient attacks do the same float operations in the same order on both sides (measured: 0).
// CW (torch.optim.Adam vs robusta's Adam formula) and DeepFool (robusta batched, the reference one
// example at a time) differ by float rounding only (measured ≤ 2.1e-7). Tolerance 1e-5 for all.
const cases: Case[] = [
  { name: 'FGSM', make: (m) => new FGSM(m, { eps: 0.1 }), py: 'fgsm(M, x, y, 0.1)', tol: 1e-5 },
  { name: 'FGSM-targeted', make: (m) => new FGSM(m, { eps: 0.1, mode: 'targeted' }), py: 'fgsm(M, x, y, 0.1, t=t)', targeted: true, tol: 1e-5 },
  { name: 'BIM', make: (m) => new BIM(m, { eps: 0.1, alpha: 0.02, steps: 10 }), py: 'pgd(M, x, y, 0.1, 0.02, 10)', tol: 1e-5 },
  { name: 'PGD', make: (m) => new PGD(m, { eps: 0.1, alpha: 0.02, steps: 10, randomStart: false }), py: 'pgd(M, x, y, 0.1, 0.02, 10)', tol: 1e-5 },
  {
    name: 'PGD-random-start', make: (m) => new PGD(m, { eps: 0.1, alpha: 0.02, steps: 10, seed: 7 }),
    py: 'pgd(M, x, y, 0.1, 0.02, 10, random_start=True, seed=7)', tol: 1e-5,
  },
  {
    name: 'PGD-targeted', make: (m) => new PGD(m, { eps: 0.1, alpha: 0.02, steps: 10, randomStart: false, mode: 'targeted' }),
    py: 'pgd(M, x, y, 0.1, 0.02, 10, t=t)', targeted: true, tol: 1e-5,
  },
  { name: 'PGDL2', make: (m) => new PGDL2(m, { eps: 1.5, alpha: 0.3, steps: 10, randomStart: false }), py: 'pgdl2(M, x, y, 1.5, 0.3, 10)', tol: 1e-5 },
  {
    name: 'PGDL2-random-start', make: (m) => new PGDL2(m, { eps: 1.5, alpha: 0.3, steps: 10, seed: 3 }),
    py: 'pgdl2(M, x, y, 1.5, 0.3, 10, random_start=True, seed=3)', tol: 1e-5,
  },
  { name: 'MIFGSM', make: (m) => new MIFGSM(m, { eps: 0.1, alpha: 0.02, steps: 10, decay: 1.0 }), py: 'mifgsm(M, x, y, 0.1, 0.02, 10, 1.0)', tol: 1e-5 },
  { name: 'TPGD', make: (m) => new TPGD(m, { eps: 0.1, alpha: 0.02, steps: 10, seed: 5 }), py: 'tpgd(M, x, 0.1, 0.02, 10, 5)', tol: 1e-5 },
  { name: 'CW', make: (m) => new CW(m, { c: 1, kappa: 0, steps: 40, lr: 0.05 }), py: 'cw(M, x, y, 1.0, 0.0, 40, 0.05)', tol: 1e-5 },
  { name: 'DeepFool', make: (m) => new DeepFool(m, { steps: 50, overshoot: 0.02 }), py: 'deepfool(M, x, y, 50, 0.02)', tol: 1e-5 },
];

test('deterministic attacks match plain-PyTorch implementations (trained MLP and CNN, 16 MNIST digits)', { skip: pyTorchSkip() }, () => {
  const models = { mlp: trainedMnistModel('mlp'), cnn: trainedMnistModel('cnn') };
  const { images, labels } = loadMnist('t10k', 100, 16);
  const targets = tidy(() => labels.add(3).remainder(10));
  const weights: Record<string, Tensor> = { ...models.mlp.weights, ...models.cnn.weights };
  const dir = writeTensors({ ...weights, x: images, y: labels, t: targets });
  try {
    const calls = Object.keys(models).flatMap((kind) =>
      cases.map((c) => `    out['${kind}.${c.name}'] = ${c.py.replace('M,', `models['${kind}'],`)}`)).join('\n');
    runPython(`${referencePrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
x, y, t = T_['x'], T_['y'], T_['t']
models = {k: make_model(k, T_) for k in ('mlp', 'cnn')}
out = {}
if True:
${calls}
save_tensors(D, out)
OUTPUT = None
`);
    const reference = readTensors(dir);
    for (const [kind, model] of Object.entries(models)) {
      for (const c of cases) {
        tidy(() => {
          const r = c.make(model).run(images, labels, c.targeted ? targets : undefined);
          const want = reference[`${kind}.${c.name}`]!;
          const diff = maxDiff(r.adv, want);
          if (process.env.ROBUSTA_TEST_VERBOSE) console.log(kind, c.name, diff, r.success.sum().item());
          assert.ok(diff <= c.tol, `${kind} ${c.name}: max |robusta − PyTorch| = ${diff} > ${c.tol}`);
          // The comparison is only meaningful if the attack moved the images.
          assert.ok(maxDiff(r.adv, images) > 1e-3, `${kind} ${c.name}: the attack did not move the images`);
        });
      }
    }
    for (const t of Object.values(reference)) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
