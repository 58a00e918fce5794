// FFGSM ("fast" FGSM with a random start) — Wong, Rice & Kolter, "Fast is Better than Free: Revisiting
// Adversarial Training", ICLR 2020.
import { emptyLike, type Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { checkEps, checkNumber } from './params.js';

export interface FFGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size (the paper's 1.25·ε). Default 10/255. */
  alpha?: number;
}

/**
 * One signed step from a uniform random start, projected back onto the ε-ball:
 *   x⁰ = clip_[0,1](x + U(−ε, ε)),   x_adv = Π_{B∞(x, ε) ∩ [0,1]}(x⁰ + α·sign(∇ₓ CE(f(x⁰), y))).
 * The start comes from torch's generator (seed it).
 */
export class FFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;

  constructor(model: Classifier, options: FFGSMOptions = {}) {
    super('FFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 10 / 255, { min: 0 });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    // torchattacks fills the start with N(0, 1) and then overwrites it with U(−ε, ε): drawing the
    // same way keeps a seeded run on its random stream.
    const start = images.add(emptyLike(images).normal_().uniform_(-this.eps, this.eps)).clamp(0, 1);
    const { grad } = inputGradient(this.forward, start, (z) => crossEntropyObjective(z, labels, targets));
    return projectLinf(start.add(grad.sign().mul(this.alpha)), images, this.eps);
  }
}
