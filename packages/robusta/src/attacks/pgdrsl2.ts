// PGDRSL2 (L2 PGD on a randomized-smoothing classifier) — Salman et al., "Provably Robust Deep Learning
// via Adversarially Trained Smoothed Classifiers", NeurIPS 2019 (SmoothAdv_PGD); torchattacks' PGDRSL2.
import { type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { flatNorm, perExample } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { inChunks, smoothedObjective, type SmoothingOptions, type SmoothingSettings, smoothingSettings } from './randomized-smoothing.js';
import { advance } from './state.js';

export interface PGDRSL2Options extends AttackOptions, SmoothingOptions {
  /** L2 budget. Default 1.0. */
  eps?: number;
  /** Step size. Default 0.2. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Added to ||g||₂ before dividing. Default 1e-10. */
  epsForDivision?: number;
}

/**
 * Normalised-gradient ascent on the smoothed classifier's cross-entropy (randomized-smoothing.ts), from δ⁰ = 0:
 *   δ' = δ^t + α·g/(||g||₂ + 1e-10),  g = ∇_δ L(δ^t),   δ^{t+1} = δ'·min(ε/||δ'||₂, 1),
 *   x_adv = clip_[0,1](x + δ^T).
 * δ itself is not kept inside the image box: the model sees clip_[0,1](x + δ) + η (SmoothAdv's choice).
 * Fresh noise every step, drawn from torch's generator (seed it).
 */
export class PGDRSL2 extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly epsForDivision: number;
  readonly smoothing: SmoothingSettings;

  constructor(model: Classifier, options: PGDRSL2Options = {}) {
    super('PGDRSL2', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 1.0);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 0.2, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.epsForDivision = checkNumber(this.name, 'epsForDivision', options.epsForDivision ?? 1e-10, { min: 0 });
    this.smoothing = smoothingSettings(this.name, options);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    return inChunks(images, labels, targets, this.smoothing, (x, y, t) => {
      let delta = zerosLike(x);
      for (let i = 0; i < this.steps; i++) {
        delta = advance(delta, () => {
          const { grad } = inputGradient((d) => d, delta, (d) => smoothedObjective(this.forward, x, d, this.smoothing, y, t));
          const unit = grad.div(perExample(flatNorm(grad, 2).add(this.epsForDivision), grad));
          const step = delta.add(unit.mul(this.alpha));
          // min(ε/||δ'||, 1), as torchattacks computes ε/n (reciprocal times ε); n = 0 gives +∞, which the min turns into 1.
          const factor = flatNorm(step, 2).reciprocal().mul(this.eps).clampMax(1);
          return step.mul(perExample(factor, step));
        });
      }
      return x.add(delta).clamp(0, 1);
    });
  }
}
