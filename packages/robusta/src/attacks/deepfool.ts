// DeepFool — Moosavi-Dezfooli, Fawzi & Frossard, "DeepFool: a simple and accurate method to fool deep
// neural networks", CVPR 2016 (multi-class, L2, Algorithm 2).
import { arange, noGrad, type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { logitsJacobian } from './jacobian.js';
import { pick } from './losses.js';
import { checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface DeepFoolOptions extends AttackOptions {
  /** Maximum number of linearisation steps. Default 50. */
  steps?: number;
  /** Overshoot η: the total perturbation is scaled by (1 + η). Default 0.02. */
  overshoot?: number;
}

/** Added to the step length so every step crosses the linearised boundary (reference implementation). */
const STEP_PAD = 1e-4;

/**
 * At x_i (still classified y), linearise every f_k − f_y, k ≠ y:
 *   f'_k = f_k(x_i) − f_y(x_i),  w'_k = ∇f_k(x_i) − ∇f_y(x_i),
 *   l = argmin_k |f'_k| / ||w'_k||₂,   r_i = (|f'_l| / ||w'_l||₂ + 1e-4) · w'_l / ||w'_l||₂,
 * then x_{i+1} = clip_[0,1](x + (1 + η)·Σ_{j≤i} r_j). Stops per example once the label changes
 * (examples already fooled are not updated), or after `steps` updates.
 */
export class DeepFool extends Attack {
  readonly steps: number;
  readonly overshoot: number;

  constructor(model: Classifier, options: DeepFoolOptions = {}) {
    super('DeepFool', model, options, { targeted: false });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 50);
    this.overshoot = checkNumber(this.name, 'overshoot', options.overshoot ?? 0.02, { min: 0 });
  }

  protected perturb({ images, labels }: AttackInput): Tensor {
    const out = images.clone();
    const n = images.shape[0]!;
    // Detached wrappers: the loop disposes replaced state, never the caller's tensors.
    let s = { idx: arange(n, undefined, 1, { device: images.device }), x: images.detach(), y: labels.detach(), rTot: zerosLike(images), adv: images.detach() };
    for (let step = 0; step < this.steps && s.idx.shape[0]! > 0; step++) {
      s = advance(s, () => {
        const { logits, jacobian } = logitsJacobian(this.forward, s.adv);
        const going = logits.argmax(1).eq(s.y);
        const keep = going.nonzero().flatten();
        const c = {
          idx: s.idx.indexSelect(0, keep), x: s.x.indexSelect(0, keep), y: s.y.indexSelect(0, keep),
          rTot: s.rTot.indexSelect(0, keep), z: logits.indexSelect(0, keep), jac: jacobian.indexSelect(0, keep),
        };
        if (c.idx.shape[0] === 0) return { idx: c.idx, x: c.x, y: c.y, rTot: c.rTot, adv: c.x };
        const yIdx = c.y.unsqueeze(1);
        const fPrime = c.z.sub(pick(c.z, c.y).unsqueeze(1));                                      // [B, C]
        const wPrime = c.jac.sub(c.jac.gather(1, yIdx.unsqueeze(2).expand(-1, 1, c.jac.shape[2]!))); // [B, C, d]
        const wNorm = wPrime.norm(2, { dim: 2 }).clampMin(1e-12);
        const dist = fPrime.abs().div(wNorm).scatter(1, yIdx, Infinity);
        const l = dist.argmin(1, true);                                                            // [B, 1]
        const wl = wPrime.gather(1, l.unsqueeze(2).expand(-1, 1, wPrime.shape[2]!)).squeeze(1);    // [B, d]
        const stepLength = dist.gather(1, l).add(STEP_PAD).div(wNorm.gather(1, l));                // [B, 1]
        const r = wl.mul(stepLength).reshape(c.x.shape);
        const rTot = c.rTot.add(r);
        const adv = noGrad(() => c.x.add(rTot.mul(1 + this.overshoot)).clamp(0, 1));
        out.indexPut_([c.idx], adv);
        return { idx: c.idx, x: c.x, y: c.y, rTot, adv };
      });
    }
    return out;
  }
}
