// R+FGSM — Tramèr, Kurakin, Papernot, Goodfellow, Boneh & McDaniel, "Ensemble Adversarial Training:
// Attacks and Defenses", ICLR 2018, in torchattacks' iterated form.
import { randnLike, type Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import { signGradientAscent } from './bim.js';
import type { Classifier } from './classifier.js';
import { crossEntropyObjective } from './losses.js';
import { checkEps, checkNumber, checkSteps } from './params.js';

export interface RFGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Size of the random step and of every gradient step. Default 2/255. */
  alpha?: number;
  /** Gradient steps. Default 10. */
  steps?: number;
}

/**
 * A random signed step, then iterated FGSM inside the ε-ball:
 *   x⁰ = clip_[0,1](x + α·sign(N(0, I))),   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(∇ₓ CE(f(x^t), y))).
 * The paper's single-step R+FGSM (x' + (ε − α)·sign(∇)) is steps = 1 with the second step α; as
 * torchattacks, both steps have size α here. The random step uses torch's generator (seed it).
 */
export class RFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;

  constructor(model: Classifier, options: RFGSMOptions = {}) {
    super('RFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const start = images.add(randnLike(images).sign().mul(this.alpha)).clamp(0, 1);
    return signGradientAscent(this.forward, images, start, this.steps, this.alpha, this.eps,
      (z) => crossEntropyObjective(z, labels, targets));
  }
}
