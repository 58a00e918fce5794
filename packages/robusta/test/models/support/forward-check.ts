// Test support: registers, for each model case, a test that its forward passes equal PyTorch's on the
// same weights and inputs — eval mode, train mode (batch statistics; running statistics and
// num_batches_tracked updated as PyTorch updates them), the input gradient of the cross-entropy —
// and with Normalize inside where asked. Weights travel through files; PyTorch runs once per file.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { F, noGrad, type Tensor, tidy } from '@robusta/torch';
import { pyTorchSkip } from '@robusta/torch/testing';
import { createModel, DATASET_STATS, type ModelOptions } from '../../../src/models/index.js';
import { PY_MODELS } from './reference-models.js';
import { once, runPy } from '../../nn/support/python.js';
import { makeTempDir, maxAbs, maxDiff, PY_TENSOR_FILES, readTensors } from '../../nn/support/tensor-files.js';

export interface ForwardCase {
  /** The registry name robusta builds. */
  name: string;
  /** The Python expression building the same model (support/reference-models.ts). */
  py: string;
  options: ModelOptions;
  input: number[];
  /** Also compare the model with CIFAR-10 normalisation inside. */
  normalized?: boolean;
}

const SCRIPT = `${PY_MODELS}
${PY_TENSOR_FILES}
d = INPUT['dir']
cifar_mean = torch.tensor(INPUT['mean']).view(1, 3, 1, 1)
cifar_std = torch.tensor(INPUT['std']).view(1, 3, 1, 1)
torch.manual_seed(1)
for case in INPUT['cases']:
    name = case['name']
    m = eval(case['py'])
    # Non-trivial normalisation state, so that eval mode differs from batch statistics.
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.3, 0.3)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
            mod.num_batches_tracked.fill_(7)
    save_tensors(d, name + '-weights', m.state_dict())
    x = torch.rand(case['input'])
    y = torch.randint(0, 10, (case['input'][0],))
    m.eval()
    with torch.no_grad():
        out_eval = m(x)
        out_norm = m((x - cifar_mean) / cifar_std) if case.get('normalized') else out_eval
    xg = x.clone().requires_grad_(True)
    F.cross_entropy(m(xg), y).backward()
    m.train()
    out_train = m(x)
    save_tensors(d, name + '-io', {'x': x, 'y': y, 'eval': out_eval, 'eval_normalized': out_norm, 'input_grad': xg.grad, 'train': out_train})
    save_tensors(d, name + '-after', m.state_dict())
OUTPUT = True
`;


function close(actual: Tensor, expected: Tensor, what: string, rel = 1e-4): void {
  const d = maxDiff(actual, expected);
  const scale = Math.max(1e-3, maxAbs(expected));
  assert.ok(d <= rel * scale, `${what}: max |diff| ${d.toExponential(3)} > ${rel} x ${scale.toExponential(3)}`);
}

/** Registers one test per case (PyTorch computes every case's reference in one run, on first use). */
export function forwardTests(cases: ForwardCase[]): void {
  const tmp = makeTempDir();
  after(() => tmp.remove());
  const skip = pyTorchSkip();
  const reference = once(() => runPy(SCRIPT, {
    dir: tmp.dir, cases, mean: DATASET_STATS.cifar10.mean, std: DATASET_STATS.cifar10.std,
  }));
  for (const c of cases) {
    test(`${c.name}: eval, input-gradient and train-mode outputs equal PyTorch's`, { skip }, () => {
      reference();
      const weights = readTensors(tmp.dir, `${c.name}-weights`);
      const io = readTensors(tmp.dir, `${c.name}-io`);
      const updated = readTensors(tmp.dir, `${c.name}-after`);
      const model = createModel(c.name, c.options);
      try {
        tidy(() => {
          const result = model.loadStateDict(weights);
          assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
          const x = io.get('x')!;
          const y = io.get('y')!;
          model.eval();
          close(noGrad(() => model.call(x)), io.get('eval')!, `${c.name} eval logits`);

          const xg = x.clone().requiresGrad_(true);
          F.crossEntropy(model.call(xg), y).backward();
          const g = xg.grad!;
          close(g, io.get('input_grad')!, `${c.name} input gradient`, 1e-3);

          model.train();
          close(model.call(x), io.get('train')!, `${c.name} train logits`);
          const mine = model.stateDict();
          for (const [k, v] of updated) {
            if (k.endsWith('num_batches_tracked')) assert.equal(mine.get(k)!.item(), v.item(), `${c.name} ${k}`);
            else close(mine.get(k)!, v, `${c.name} ${k} after a training-mode forward`);
          }
        });
        if (c.normalized) {
          const normalized = createModel(c.name, { ...c.options, normalize: 'cifar10' });
          try {
            normalized.loadStateDict(weights);
            normalized.eval();
            tidy(() => close(noGrad(() => normalized.call(io.get('x')!)), io.get('eval_normalized')!, `${c.name} with Normalize`));
          } finally {
            normalized.dispose();
          }
        }
      } finally {
        model.dispose();
        for (const m of [weights, io, updated]) for (const t of m.values()) t.dispose();
      }
    });
  }
}
