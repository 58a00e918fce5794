// Test support for the measures: a small nn.Sequential CNN (conv, batch norm, linear) trained for a
// few SGD steps on MNIST, its PyTorch twin, and the exchange of its weights and inputs with Python.
import assert from 'node:assert/strict';
import * as torch from '@robusta/torch';
import { F, type Tensor, tidy } from '@robusta/torch';
import type { MeasuredValue } from '../../src/measures/index.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, ReLU, type Module, Sequential } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import { loadMnist, referencePrelude, writeTensors } from '../attacks/helpers.js';

export { loadMnist, readTensors, referencePrelude, writeTensors } from '../attacks/helpers.js';

/** conv 3×3/2 (1→8) → BN → ReLU → conv 3×3/2 (8→16) → ReLU → Flatten → Linear(784 → 32) → ReLU → Linear(32 → 10). */
export function smallCnn(seed = 0): Sequential {
  torch.manualSeed(seed);
  return new Sequential(
    new Conv2d(1, 8, 3, { stride: 2, padding: 1 }), new BatchNorm2d(8), new ReLU(),
    new Conv2d(8, 16, 3, { stride: 2, padding: 1 }), new ReLU(), new Flatten(),
    new Linear(16 * 7 * 7, 32), new ReLU(), new Linear(32, 10),
  );
}

/** The same architecture in PyTorch: build(W) loads the state dict from the tensors dict W. */
export const PY_SMALL_CNN = `
import torch.nn as nn
def small_cnn(W, prefix='model.'):
    m = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                      nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10))
    m.load_state_dict({k[len(prefix):]: v for k, v in W.items() if k.startswith(prefix)})
    return m.eval()
`;

/** smallCnn trained with SGD (lr 0.05, momentum 0.9, batch 64) for `steps` steps on the first 2,000 MNIST digits. */
export function trainedSmallCnn(steps = 60, seed = 0): Sequential {
  const model = smallCnn(seed);
  const { images, labels } = loadMnist('train', 0, 2000);
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  torch.manualSeed(seed);
  model.train();
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const idx = torch.randint(0, 2000, [64]);
      opt.zeroGrad();
      F.crossEntropy(model.forward(images.indexSelect(0, idx)), labels.indexSelect(0, idx)).backward();
      opt.step();
    });
  }
  opt.zeroGrad();
  model.eval();
  images.dispose();
  labels.dispose();
  return model;
}

/** Writes the model's state dict (keys prefixed 'model.') and extra tensors for Python; returns the folder. */
export function exportForPython(model: Sequential, extra: Record<string, Tensor>): string {
  const tensors: Record<string, Tensor> = { ...extra };
  const state = model.stateDict();
  for (const [k, t] of state) tensors[`model.${k}`] = t;
  return writeTensors(tensors);
}

/** Python prelude: the attack reference helpers (load_tensors, save_tensors) and small_cnn(W). */
export function measuresPrelude(): string {
  return `${referencePrelude()}\n${PY_SMALL_CNN}\n`;
}

/** Bytes of every parameter and buffer, by name (to check that a measure leaves the model as it found it). */
export function weightBytes(m: Module): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
    const d = t.data();
    out.set(k, Buffer.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
  }
  return out;
}

export function assertSameBytes(before: Map<string, Buffer>, after: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...after.keys()], [...before.keys()]);
  for (const [k, b] of before) assert.ok(after.get(k)!.equals(b), `${what}: ${k} changed`);
}

/** The measured value of one measure in a report. */
export function byName(ms: MeasuredValue[], name: string): MeasuredValue {
  const m = ms.find((v) => v.name === name);
  assert.ok(m, `no measure ${name}`);
  return m;
}
