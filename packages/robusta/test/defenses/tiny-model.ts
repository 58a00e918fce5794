// Test support: a tiny conv net with BatchNorm (so eval vs train mode matters) and its PyTorch twin.
import * as torch from '@robusta/torch';
import { type Tensor } from '@robusta/torch';
import { BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../src/nn/index.js';

/** Conv(1→3, 3×3, pad 1) → BN → ReLU → Flatten → Linear(3·s·s → classes), for s×s images. */
export function tinyConvNet(side = 6, classes = 5): Sequential {
  return new Sequential(new Conv2d(1, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU(), new Flatten(), new Linear(3 * side * side, classes));
}

/** The same architecture in PyTorch (Python source defining build(state) from a {name: tensor-json} dict). */
export const PY_TINY_CONV_NET = `
import torch.nn as nn
def build(state, side=6, classes=5):
    m = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * side * side, classes))
    m.load_state_dict({k: T(v) for k, v in state.items()})
    return m
`;

/** The model's state dict as a plain object of tensors (copies the caller owns). */
export function stateObject(model: Sequential): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of model.stateDict()) out[k] = torch.keep(t.clone());
  return out;
}

/** Largest |a − b| relative to the largest |b|, or to `scale` when given (for tensors that should be ~0). */
export function relativeError(a: number[], b: number[], scale?: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
  }
  return diff / ((scale ?? maxAbs) + 1e-6);
}
