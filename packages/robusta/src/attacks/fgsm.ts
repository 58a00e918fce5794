// FGSM — Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015.
import type { Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { checkEps } from './params.js';

export interface FGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255 (torchattacks). */
  eps?: number;
}

/** One signed-gradient step: x' = clip_[0,1](x + ε·sign(∇ₓ CE(f(x), y)))  (targeted: x - ε·sign(∇ₓ CE(f(x), t))). */
export class FGSM extends Attack {
  readonly eps: number;

  constructor(model: Classifier, options: FGSMOptions = {}) {
    super('FGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const { grad } = inputGradient(this.forward, images, (z) => crossEntropyObjective(z, labels, targets));
    return images.add(grad.sign().mul(this.eps)).clamp(0, 1);
  }
}
