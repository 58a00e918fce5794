// EOT-PGD — PGD with Expectation over Transformation (Athalye, Carlini & Wagner, "Obfuscated Gradients
// Give a False Sense of Security", ICML 2018), as used against stochastic defenses by Zimmermann,
// "Comment on 'Adv-BNN: Improved Adversarial Defense through Robust Bayesian Neural Network'", 2019.
import { emptyLike, type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface EOTPGDOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Gradients averaged per step (forward/backward passes of the stochastic model). Default 2. */
  eotIter?: number;
  /** Start from x + U(−ε, ε) (clipped to [0, 1]). Default true. */
  randomStart?: boolean;
}

/**
 * PGD on the expected loss of a randomized model, the expectation estimated by K passes:
 *   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(Σ_{k=1..K} ∇ₓ CE(f_k(x^t), y))),
 * f_k = the k-th pass (its own dropout/noise draws). On a deterministic model it is PGD.
 */
export class EOTPGD extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly eotIter: number;
  readonly randomStart: boolean;

  constructor(model: Classifier, options: EOTPGDOptions = {}) {
    super('EOTPGD', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.eotIter = checkSteps(this.name, 'eotIter', options.eotIter ?? 2);
    this.randomStart = options.randomStart ?? true;
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const objective = (z: Tensor): Tensor => crossEntropyObjective(z, labels, targets);
    let adv = this.randomStart ? images.add(emptyLike(images).uniform_(-this.eps, this.eps)).clamp(0, 1) : images.clone();
    for (let i = 0; i < this.steps; i++) {
      adv = advance(adv, () => {
        let total = zerosLike(adv);
        for (let k = 0; k < this.eotIter; k++) total = total.add(inputGradient(this.forward, adv, objective).grad);
        return projectLinf(adv.add(total.sign().mul(this.alpha)), images, this.eps);
      });
    }
    return adv;
  }
}
