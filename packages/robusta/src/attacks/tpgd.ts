// TPGD — the KL-divergence attack of TRADES: Zhang, Yu, Jiao, Xing, El Ghaoui & Jordan,
// "Theoretically Principled Trade-off between Robustness and Accuracy", ICML 2019.
import { F, noGrad, randnLike, type Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { projectLinf } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface TPGDOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
}

/**
 * Label-free PGD on the TRADES inner objective:
 *   x⁰ = x + 0.001·N(0, I),  x^{t+1} = Π_{B∞(x, ε)}(x^t + α·sign(∇ₓ KL(f(x) ‖ f(x^t)))),
 * with f the softmax output; KL summed over the batch. The start noise uses torch's generator (seed it).
 */
export class TPGD extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;

  constructor(model: Classifier, options: TPGDOptions = {}) {
    super('TPGD', model, options, { targeted: false });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
  }

  protected perturb({ images, cleanLogits }: AttackInput): Tensor {
    const cleanProbs = noGrad(() => F.softmax(cleanLogits, 1));
    // KL(p_clean ‖ p_adv) per example = Σ_c p_clean·(log p_clean − log p_adv).
    const objective = (z: Tensor): Tensor => F.klDiv(F.logSoftmax(z, 1), cleanProbs, { reduction: 'none' }).sum(1);
    let adv = images.add(randnLike(images).mul(0.001)).clamp(0, 1);
    for (let i = 0; i < this.steps; i++) {
      adv = advance(adv, () => {
        const { grad } = inputGradient(this.forward, adv, objective);
        return projectLinf(adv.add(grad.sign().mul(this.alpha)), images, this.eps);
      });
    }
    return adv;
  }
}
