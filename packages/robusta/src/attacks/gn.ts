// GN — Gaussian noise, torchattacks' random-perturbation baseline (the noise corruption of Hendrycks &
// Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and Perturbations", ICLR 2019).
import { randnLike, type Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { checkNumber } from './params.js';

export interface GNOptions extends AttackOptions {
  /** Standard deviation σ of the noise. Default 0.1. */
  std?: number;
}

/** x_adv = clip_[0,1](x + σ·η),  η ~ N(0, I), from torch's generator (seed it). No budget, no gradient. */
export class GN extends Attack {
  readonly std: number;

  constructor(model: Classifier, options: GNOptions = {}) {
    super('GN', model, options, { targeted: false });
    this.std = checkNumber(this.name, 'std', options.std ?? 0.1, { min: 0 });
  }

  protected perturb({ images }: AttackInput): Tensor {
    return images.add(randnLike(images).mul(this.std)).clamp(0, 1);
  }
}
