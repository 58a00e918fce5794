// MI-FGSM — Dong, Liao, Pang, Su, Zhu, Hu & Li, "Boosting Adversarial Attacks with Momentum", CVPR 2018.
import { type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface MIFGSMOptions extends AttackOptions {
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
 * Momentum iterative FGSM:
 *   g_{t+1} = μ·g_t + ∇ₓJ(x_t, y) / ||∇ₓJ(x_t, y)||₁,   x_{t+1} = Clip_{x,ε}(x_t + α·sign(g_{t+1})).
 * The L1 normalisation is taken as the mean |∇| (||·||₁ / d, as torchattacks): a per-example constant
 * factor that changes no sign; it is floored at 1e-12 so a zero gradient gives no step instead of NaN.
 */
export class MIFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;

  constructor(model: Classifier, options: MIFGSMOptions = {}) {
    super('MIFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 1.0, { min: 0 });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const objective = (z: Tensor): Tensor => crossEntropyObjective(z, labels, targets);
    const reduceDims = Array.from({ length: images.ndim - 1 }, (_, i) => i + 1);
    let state = { adv: images.clone(), momentum: zerosLike(images) };
    for (let i = 0; i < this.steps; i++) {
      state = advance(state, () => {
        const { grad } = inputGradient(this.forward, state.adv, objective);
        const scale = grad.abs().mean(reduceDims, true).clampMin(1e-12);
        const momentum = grad.div(scale).add(state.momentum.mul(this.decay));
        const adv = projectLinf(state.adv.add(momentum.sign().mul(this.alpha)), images, this.eps);
        return { adv, momentum };
      });
    }
    return state.adv;
  }
}
