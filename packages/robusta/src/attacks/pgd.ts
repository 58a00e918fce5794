// PGD (L∞) — Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards Deep Learning Models Resistant to
// Adversarial Attacks", ICLR 2018.
import { emptyLike, type Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import { signGradientAscent } from './bim.js';
import type { Classifier } from './classifier.js';
import { crossEntropyObjective } from './losses.js';
import { checkEps, checkNumber, checkSteps } from './params.js';

export interface PGDOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Start from x + U(-ε, ε)^d (clipped to [0, 1]). Default true. */
  randomStart?: boolean;
}

/**
 * Projected gradient ascent on the cross-entropy over the L∞ ball:
 *   x⁰ = x + U(-ε, ε),  x^{t+1} = Π_{x+S}(x^t + α·sign(∇ₓ L(θ, x^t, y))).
 */
export class PGD extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly randomStart: boolean;

  constructor(model: Classifier, options: PGDOptions = {}) {
    super('PGD', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.randomStart = options.randomStart ?? true;
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const start = this.randomStart ? images.add(emptyLike(images).uniform_(-this.eps, this.eps)).clamp(0, 1) : images.clone();
    return signGradientAscent(this.forward, images, start, this.steps, this.alpha, this.eps,
      (z) => crossEntropyObjective(z, labels, targets));
  }
}
