// PGDRS (L∞ PGD on a randomized-smoothing classifier) — Salman et al., "Provably Robust Deep Learning
// via Adversarially Trained Smoothed Classifiers", NeurIPS 2019; torchattacks' PGDRS.
import { type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { inChunks, smoothedObjective, type SmoothingOptions, type SmoothingSettings, smoothingSettings } from './randomized-smoothing.js';
import { advance } from './state.js';

export interface PGDRSOptions extends AttackOptions, SmoothingOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10 (torchattacks' code; its docstring says 40). */
  steps?: number;
}

/**
 * Sign-gradient ascent on the smoothed classifier's cross-entropy (randomized-smoothing.ts), from δ⁰ = 0:
 *   δ^{t+1} = clip_[−ε,ε](δ^t + α·sign(∇_δ L(δ^t))),   x_adv = clip_[0,1](x + δ^T).
 * δ itself is not kept inside the image box: the model sees clip_[0,1](x + δ) + η (SmoothAdv's choice).
 * Fresh noise every step, drawn from torch's generator (seed it).
 */
export class PGDRS extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly smoothing: SmoothingSettings;

  constructor(model: Classifier, options: PGDRSOptions = {}) {
    super('PGDRS', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.smoothing = smoothingSettings(this.name, options);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    return inChunks(images, labels, targets, this.smoothing, (x, y, t) => {
      let delta = zerosLike(x);
      for (let i = 0; i < this.steps; i++) {
        delta = advance(delta, () => {
          const { grad } = inputGradient((d) => d, delta, (d) => smoothedObjective(this.forward, x, d, this.smoothing, y, t));
          return delta.add(grad.sign().mul(this.alpha)).clamp(-this.eps, this.eps);
        });
      }
      return x.add(delta).clamp(0, 1);
    });
  }
}
