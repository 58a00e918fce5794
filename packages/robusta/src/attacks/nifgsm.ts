// NI-FGSM — Lin, Song, He, Wang & Hopcroft, "Nesterov Accelerated Gradient and Scale Invariance for
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

export interface NIFGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Momentum decay μ. Default 1.0. */
  decay?: number;
}

/**
 * MI-FGSM with the gradient taken at the Nesterov look-ahead point:
 *   x^nes = x^t + α·μ·g_t,   g_{t+1} = μ·g_t + ∇ₓ CE(f(x^nes), y)/mean|∇|,   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(g_{t+1})).
 * x^nes is not clipped to [0, 1] (as the paper and torchattacks).
 */
export class NIFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;

  constructor(model: Classifier, options: NIFGSMOptions = {}) {
    super('NIFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 1.0, { min: 0 });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const objective = (z: Tensor): Tensor => crossEntropyObjective(z, labels, targets);
    let state = { adv: images.clone(), momentum: zerosLike(images) };
    for (let i = 0; i < this.steps; i++) {
      state = advance(state, () => {
        const lookAhead = state.adv.add(state.momentum.mul(this.decay * this.alpha));
        const { grad } = inputGradient(this.forward, lookAhead, objective);
        const momentum = accumulateMomentum(grad, state.momentum, this.decay);
        return { adv: projectLinf(state.adv.add(momentum.sign().mul(this.alpha)), images, this.eps), momentum };
      });
    }
    return state.adv;
  }
}
