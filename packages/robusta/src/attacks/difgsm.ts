// DI²-FGSM — Xie, Zhang, Zhou, Bai, Wang, Ren & Yuille, "Improving Transferability of Adversarial
// Examples with Input Diversity", CVPR 2019 (with momentum: M-DI²-FGSM).
import type { Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { diverseInputAscent } from './input-diversity.js';
import { checkEps, checkNumber, checkSteps } from './params.js';

export interface DIFGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Momentum decay μ (0: DI²-FGSM, 1: M-DI²-FGSM). Default 0.0. */
  decay?: number;
  /** Resize factor of the diversity transform (< 1 shrinks and pads back, > 1 pads to a larger image). Default 0.9. */
  resizeRate?: number;
  /** Probability that a step uses the transformed image. Default 0.5. */
  diversityProb?: number;
  /** Start from x + U(−ε, ε) (clipped to [0, 1]). Default false. */
  randomStart?: boolean;
}

/**
 * Momentum iterative FGSM through a random resize-and-pad T (input-diversity.ts):
 *   g = ∇ₓ CE(f(T(x^t)), y),   m_{t+1} = g/mean|g| + μ·m_t,   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(m_{t+1})).
 * T is drawn once per step for the batch, from torch's CPU generator (seed the attack).
 */
export class DIFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;
  readonly resizeRate: number;
  readonly diversityProb: number;
  readonly randomStart: boolean;

  constructor(model: Classifier, options: DIFGSMOptions = {}) {
    super('DIFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 0.0, { min: 0 });
    this.resizeRate = checkNumber(this.name, 'resizeRate', options.resizeRate ?? 0.9, { min: 0, exclusiveMin: true });
    this.diversityProb = checkNumber(this.name, 'diversityProb', options.diversityProb ?? 0.5, { min: 0, max: 1 });
    this.randomStart = options.randomStart ?? false;
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    return diverseInputAscent(this.forward, images, labels, targets, this);
  }
}
