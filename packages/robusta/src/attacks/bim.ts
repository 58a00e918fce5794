// BIM (iterative FGSM) — Kurakin, Goodfellow & Bengio, "Adversarial Examples in the Physical World", ICLR 2017 workshop.
import type { Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface BIMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10 (the paper's rule is kurakinSteps(eps)). */
  steps?: number;
}

/** The paper's iteration count: min(ε·255 + 4, 1.25·ε·255), rounded down (images in [0, 1]). */
export function kurakinSteps(eps: number): number {
  return Math.max(1, Math.floor(Math.min(eps * 255 + 4, 1.25 * eps * 255)));
}

/**
 * Iterated FGSM from the clean image:
 *   X₀ = X,  X_{N+1} = Clip_{X,ε}{ X_N + α·sign(∇ₓ J(X_N, y)) }   (Clip also keeps [0, 1]).
 */
export class BIM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;

  constructor(model: Classifier, options: BIMOptions = {}) {
    super('BIM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    return signGradientAscent(this.forward, images, images.clone(), this.steps, this.alpha, this.eps,
      (z) => crossEntropyObjective(z, labels, targets));
  }
}

/** steps × { x ← Π_{B∞(x₀, ε) ∩ [0,1]}(x + α·sign(∇ objective)) } from `start`. Shared by BIM and PGD. */
export function signGradientAscent(forward: (x: Tensor) => Tensor, images: Tensor, start: Tensor, steps: number, alpha: number,
  eps: number, objective: (logits: Tensor) => Tensor): Tensor {
  let adv = start;
  for (let i = 0; i < steps; i++) {
    adv = advance(adv, () => {
      const { grad } = inputGradient(forward, adv, objective);
      return projectLinf(adv.add(grad.sign().mul(alpha)), images, eps);
    });
  }
  return adv;
}
