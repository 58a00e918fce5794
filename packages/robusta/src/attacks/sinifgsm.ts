// SI-NI-FGSM — Lin, Song, He, Wang & Hopcroft, "Nesterov Accelerated Gradient and Scale Invariance for
// Adversarial Attacks", ICLR 2020.
import { type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { accumulateMomentum } from './momentum.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface SINIFGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Momentum decay μ. Default 1.0. */
  decay?: number;
  /** Scale copies x/2^i, i = 0 … m−1. Default 5. */
  m?: number;
}

/**
 * NI-FGSM on the average gradient of scaled copies (scale invariance of the loss):
 *   x^nes = x^t + α·μ·g_t,   ḡ = 1/m Σ_{i<m} ∇ₓ CE(f(x^nes / 2^i), y),
 *   g_{t+1} = μ·g_t + ḡ/mean|ḡ|,   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(g_{t+1})).
 */
export class SINIFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;
  readonly m: number;

  constructor(model: Classifier, options: SINIFGSMOptions = {}) {
    super('SINIFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 1.0, { min: 0 });
    this.m = checkSteps(this.name, 'm', options.m ?? 5);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const objective = (z: Tensor): Tensor => crossEntropyObjective(z, labels, targets);
    let state = { adv: images.clone(), momentum: zerosLike(images) };
    for (let i = 0; i < this.steps; i++) {
      state = advance(state, () => {
        const lookAhead = state.adv.add(state.momentum.mul(this.decay * this.alpha));
        let sum = zerosLike(images);
        for (let s = 0; s < this.m; s++) {
          // Dividing by a power of two is exact, so the copies and their gradients carry no extra rounding.
          sum = sum.add(inputGradient((x) => this.forward(x.div(2 ** s)), lookAhead, objective).grad);
        }
        const momentum = accumulateMomentum(sum.div(this.m), state.momentum, this.decay);
        return { adv: projectLinf(state.adv.add(momentum.sign().mul(this.alpha)), images, this.eps), momentum };
      });
    }
    return state.adv;
  }
}
