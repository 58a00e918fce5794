// PI-FGSM++ — Gao, Zhang, Song & Shen, "Patch-wise++ Perturbation for Adversarial Targeted Attacks", 2021
// (arXiv:2012.15503).
import type { Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { crossEntropyObjective } from './losses.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { patchWiseAscent } from './pifgsm.js';
import { smoothingKernel } from './smoothing-kernels.js';

export interface PIFGSMPPOptions extends AttackOptions {
  /** L∞ budget ε. Default 16/255. */
  maxEpsilon?: number;
  /** Iterations T (step α = ε/T). Default 10. */
  numIterSet?: number;
  /** Accepted so torchattacks calls translate; torchattacks 3.5 never uses it, and neither does robusta. Default 1.0. */
  momentum?: number;
  /** Amplification factor β of the step. Default 10.0. */
  amplification?: number;
  /** Accepted so torchattacks calls translate; torchattacks 3.5 never uses it, and neither does robusta. Default 0.7. */
  prob?: number;
  /** Weight of the projection term: γ = β·α·projectFactor. Default 0.8. */
  projectFactor?: number;
}

/** W_t: the 3×3 Gaussian (±3σ) that smooths the gradient before its sign. */
const GRADIENT_KERNEL = smoothingKernel('gaussian', 3, 3);

/**
 * PI-FGSM (pifgsm.ts) with the gradient smoothed by W_t and the projection weighted by projectFactor:
 *   g = W_t ∗ ∇ₓ J(x^t),   a ← a + β·α·sign(g),   P = β·α·projectFactor·sign(W_p ∗ clip(|a| − ε, 0, ∞)·sign(a)), …
 * J = CE(f(x), y) untargeted; targeted J = −CE(f(x), t), which moves x by −β·α·sign(W_t ∗ ∇CE(·, t)) − P
 * as torchattacks' targeted branch. W_t is the paper's Gaussian; torchattacks' port builds it with
 * the axes swapped (a kernel flat along the width), so its results differ.
 */
export class PIFGSMPP extends Attack {
  readonly maxEpsilon: number;
  readonly numIterSet: number;
  readonly momentum: number;
  readonly amplification: number;
  readonly prob: number;
  readonly projectFactor: number;

  constructor(model: Classifier, options: PIFGSMPPOptions = {}) {
    super('PIFGSMPP', model, options, { targeted: true });
    this.maxEpsilon = checkEps(this.name, options.maxEpsilon ?? 16 / 255);
    this.numIterSet = checkSteps(this.name, 'numIterSet', options.numIterSet ?? 10);
    this.momentum = checkNumber(this.name, 'momentum', options.momentum ?? 1.0, { min: 0 });
    this.amplification = checkNumber(this.name, 'amplification', options.amplification ?? 10.0, { min: 0 });
    this.prob = checkNumber(this.name, 'prob', options.prob ?? 0.7, { min: 0, max: 1 });
    this.projectFactor = checkNumber(this.name, 'projectFactor', options.projectFactor ?? 0.8, { min: 0 });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    if (images.ndim !== 4) throw new RangeError(`${this.name}: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
    return patchWiseAscent(this.forward, images, (z) => crossEntropyObjective(z, labels, targets), {
      eps: this.maxEpsilon, steps: this.numIterSet, amplification: this.amplification, projectFactor: this.projectFactor,
      gradientKernel: GRADIENT_KERNEL,
    });
  }
}
