// LGV: the collected weights equal torch.optim.SGD's trajectory on the same batches; the attack on
// the collected surrogates equals BIM on their averaged logits in plain PyTorch; the attacked model is
// left as it was; transfer success is measured on it. Kept small: an MLP, 256 training digits.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { keep, tidy } from '@robusta/torch';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import { DataLoader } from '../../src/data/loader.js';
import { TensorDataset } from '../../src/data/dataset.js';
import { LGV } from '../../src/attacks/lgv.js';
import { loadMnist, maxDiff, MLP, readTensors, trainedMnistModel, writeTensors } from './helpers.js';
import { otherFamilyPrelude } from './other-family-prelude.js';

const train = loadMnist('train', 5000, 256);
const loader = new DataLoader(new TensorDataset(train.images, train.labels), { batchSize: 32, shuffle: true, seed: 4, workers: 0 });
const { images, labels } = loadMnist('t10k', 700, 16);

/** A fresh MLP whose weights are all zero (LGV loads a surrogate into it). */
const emptyMlp = (like: MLP) => (): MLP => new MLP(Object.fromEntries(Object.entries(like.weights).map(([k, v]) => [k, keep(torch.zerosLike(v))])));

/** A copy of the trained MLP (the tests train from it without touching the shared one). */
function trainedCopy(): MLP {
  const src = trainedMnistModel('mlp') as MLP;
  return new MLP(Object.fromEntries(Object.entries(src.weights).map(([k, v]) => [k, keep(tidy(() => v.clone()))])));
}

test('LGV: collected weights = torch.optim.SGD (momentum 0.9, weight decay) on the same batches; the attack = BIM on the averaged surrogates', { skip: pyTorchSkip(), timeout: 120_000 }, () => {
  const model = trainedCopy();
  const original = model.parameters().map((t) => keep(tidy(() => t.clone())));
  // 8 batches per pass, 2 models per epoch → 4 batches per model; 2 epochs → 4 models.
  const lgv = new LGV(model, { trainLoader: loader, lr: 0.05, epochs: 2, nbModelsEpoch: 2, wd: 1e-4, nGrad: -1, copyModel: emptyMlp(model),
    attackOptions: { eps: 0.1, alpha: 0.01, steps: 10 }, seed: 0 });
  const r = tidy(() => lgv.run(images, labels));
  assert.equal(lgv.models.length, 4);
  model.parameters().forEach((p, i) => assert.equal(maxDiff(p, original[i]!), 0, 'the attacked model was changed'));
  assert.equal(model.training, true, 'the model\'s mode was not restored');

  const batches = [0, 1, 2, 3].map((s) => loader.batchIndices(s).slice(0, 4));
  const dir = writeTensors({ ...model.weights, x: images, y: labels, tx: train.images, ty: train.labels });
  try {
    runPython(`${otherFamilyPrelude()}
D = ${JSON.stringify(dir)}
T_ = load_tensors(D)
order = ${JSON.stringify(batches)}
names = ['mlp.w1', 'mlp.b1', 'mlp.w2', 'mlp.b2']
W = {k: T_[k].clone().requires_grad_(True) for k in names}
fwd = make_model('mlp', W)
snaps = lgv_collect([W[k] for k in names], fwd, lambda s, b: (T_['tx'][order[s][b]], T_['ty'][order[s][b]]), 0.05, 0.9, 1e-4, 4, 4)
ms = [make_model('mlp', dict(zip(names, s))) for s in snaps]
ens = lambda z: torch.stack([m(z) for m in ms]).mean(0)
out = {'adv': bim(ens, T_['x'], T_['y'], 0.1, 0.01, 10)}
for i, s in enumerate(snaps):
    for k, t in zip(names, s):
        out[f'{i}.{k}'] = t
save_tensors(D, out)
OUTPUT = None
`);
    const ref = readTensors(dir);
    lgv.models.forEach((snapshot, i) => {
      snapshot.forEach((t, k) => {
        const name = ['mlp.w1', 'mlp.b1', 'mlp.w2', 'mlp.b2'][k]!;
        const d = maxDiff(t, ref[`${i}.${name}`]!);
        assert.ok(d <= 1e-5, `model ${i}, ${name}: ${d} from torch.optim.SGD`);
      });
    });
    // The surrogates moved away from the start and from one another.
    assert.ok(maxDiff(lgv.models[0]![0]!, original[0]!) > 1e-3 && maxDiff(lgv.models[3]![0]!, lgv.models[0]![0]!) > 1e-3);
    const gap = maxDiff(r.adv, ref.adv!);
    assert.ok(gap <= 1e-5, `LGV's BIM on the averaged surrogates differs from PyTorch by ${gap}`);
    assert.ok(maxDiff(r.adv, images) > 0.05);
    for (const t of Object.values(ref)) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const t of original) t.dispose();
  }
});

test('LGV without copies (one surrogate per pass, swapped into the model): weights restored, success measured on the model, targeted mode, loadModels', () => {
  const model = trainedCopy();
  const original = model.parameters().map((t) => keep(tidy(() => t.clone())));
  const lgv = new LGV(model, { trainLoader: loader, epochs: 1, nbModelsEpoch: 4, attackOptions: { eps: 0.15, alpha: 0.02, steps: 12 }, seed: 1 });
  tidy(() => {
    const r = lgv.run(images, labels);
    model.parameters().forEach((p, i) => assert.equal(maxDiff(p, original[i]!), 0, 'the attacked model was changed'));
    // Success is the attacked model's verdict on the transferred points.
    const pred = torch.noGrad(() => model.forward(r.adv).argmax(1));
    assert.deepEqual(r.success.toFlatArray(), pred.ne(labels).toFlatArray());
    assert.ok(r.adv.sub(images).abs().max().item() <= 0.15 + 1e-6);
    assert.ok(r.success.sum().item() >= 4, `transfer from the surrogates fooled ${r.success.sum().item()} of 16`);

    const targets = labels.add(2).remainder(10);
    const t = new LGV(model, { mode: 'targeted', attackOptions: { eps: 0.3, alpha: 0.03, steps: 20 } });
    t.loadModels(lgv.models);
    const rt = t.run(images, labels, targets);
    assert.deepEqual(rt.success.toFlatArray(), torch.noGrad(() => model.forward(rt.adv).argmax(1)).eq(targets).toFlatArray());
    assert.ok(rt.success.sum().item() >= 4);
  });
  assert.throws(() => new LGV(model, { nGrad: 2 }), /nGrad other than 1 needs copyModel/);
  assert.throws(() => tidy(() => new LGV(model).run(images, labels)), /give trainLoader \(or call loadModels\)/);
  assert.throws(() => tidy(() => new LGV(model).loadModels([[torch.zeros([3])]])), /does not have the weights of the attacked model/);
  for (const t of original) t.dispose();
});

