// VNI-FGSM — Wang & He, "Enhancing the Transferability of Adversarial Attacks through Variance Tuning", CVPR 2021.
import type { Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { varianceTunedAscent } from './variance-tuning.js';

export interface VNIFGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Momentum decay μ. Default 1.0. */
  decay?: number;
  /** Neighbours sampled per step for the variance. Default 5. */
  N?: number;
  /** Neighbourhood half-width as a multiple of ε. Default 3/2. */
  beta?: number;
}

/**
 * VMI-FGSM with the gradient ĝ taken at the Nesterov look-ahead point (variance-tuning.ts):
 *   ĝ = ∇ₓ CE(f(x^t + α·μ·g_t), y),   g_{t+1} = (ĝ + v_t)/mean|ĝ + v_t| + μ·g_t,
 *   v_{t+1} = 1/N Σ_{i≤N} ∇ₓ CE(f(x^t + r_i), y) − ĝ,  r_i ~ U(−βε, βε)^d  (around x^t, not the look-ahead),
 *   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(g_{t+1})).
 * The neighbours come from torch's generator (seed the attack).
 */
export class VNIFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;
  readonly N: number;
  readonly beta: number;

  constructor(model: Classifier, options: VNIFGSMOptions = {}) {
    super('VNIFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 1.0, { min: 0 });
    this.N = checkSteps(this.name, 'N', options.N ?? 5);
    this.beta = checkNumber(this.name, 'beta', options.beta ?? 3 / 2, { min: 0 });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    return varianceTunedAscent(this.forward, images, labels, targets, this, true);
  }
}
