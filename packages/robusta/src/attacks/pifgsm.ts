// PI-FGSM (patch-wise iterative FGSM) — Gao, Zhang, Song, Liu & Shen, "Patch-wise Attack for Fooling
// Deep Neural Network", ECCV 2020.
import { type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { depthwiseSame, depthwiseWeight } from './smoothing-kernels.js';
import { advance } from './state.js';

export interface PIFGSMOptions extends AttackOptions {
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
}

/** The projection kernel W_p: 3×3, 1/8 everywhere but 0 at the centre (spreads overflow to the neighbours). */
export const PROJECTION_KERNEL: number[][] = [[1 / 8, 1 / 8, 1 / 8], [1 / 8, 0, 1 / 8], [1 / 8, 1 / 8, 1 / 8]];

export interface PatchWiseSettings {
  eps: number;
  steps: number;
  amplification: number;
  /** γ / (β·α): 1 for PI-FGSM, the project factor for PI-FGSM++. */
  projectFactor: number;
  /** Smooths the gradient before its sign (PI-FGSM++'s W_t), or null. */
  gradientKernel: number[][] | null;
}

/**
 * Patch-wise iteration with the amplified step β·α and the accumulated amplification a (a⁰ = 0):
 *   g = W_t ∗ ∇ₓ J(x^t)   (W_t = identity for PI-FGSM),   a ← a + β·α·sign(g),
 *   C = clip(|a| − ε, 0, ∞)·sign(a)   (the part of a the ε-ball cuts off),   P = γ·sign(W_p ∗ C),
 *   a ← a + P,   x^{t+1} = clip_{[x−ε, x+ε] ∩ [0,1]}(x^t + β·α·sign(g) + P),
 * with α = ε/T, γ = β·α·projectFactor, W_p = PROJECTION_KERNEL; convolutions per channel (torchattacks
 * hard-codes 3 channels). J is the objective to ascend.
 */
export function patchWiseAscent(forward: (x: Tensor) => Tensor, images: Tensor, objective: (z: Tensor) => Tensor,
  s: PatchWiseSettings): Tensor {
  const stepSize = (s.eps / s.steps) * s.amplification;
  const gamma = stepSize * s.projectFactor;
  const channels = images.shape[1]!;
  const project = depthwiseWeight(PROJECTION_KERNEL, channels, images);
  const smooth = s.gradientKernel ? depthwiseWeight(s.gradientKernel, channels, images) : null;
  let state = { adv: images.clone(), amplified: zerosLike(images) };
  for (let i = 0; i < s.steps; i++) {
    state = advance(state, () => {
      const { grad } = inputGradient(forward, state.adv, objective);
      const step = (smooth ? depthwiseSame(grad, smooth) : grad).sign().mul(stepSize);
      const accumulated = state.amplified.add(step);
      const cut = accumulated.abs().sub(s.eps).clamp(0, 10000).mul(accumulated.sign());
      const projection = depthwiseSame(cut, project).sign().mul(gamma);
      const adv = projectLinf(state.adv.add(step).add(projection), images, s.eps);
      return { adv, amplified: accumulated.add(projection) };
    });
  }
  return state.adv;
}

/** PI-FGSM: patchWiseAscent on CE(f(x), y), untargeted only (as torchattacks). */
export class PIFGSM extends Attack {
  readonly maxEpsilon: number;
  readonly numIterSet: number;
  readonly momentum: number;
  readonly amplification: number;
  readonly prob: number;

  constructor(model: Classifier, options: PIFGSMOptions = {}) {
    super('PIFGSM', model, options, { targeted: false });
    this.maxEpsilon = checkEps(this.name, options.maxEpsilon ?? 16 / 255);
    this.numIterSet = checkSteps(this.name, 'numIterSet', options.numIterSet ?? 10);
    this.momentum = checkNumber(this.name, 'momentum', options.momentum ?? 1.0, { min: 0 });
    this.amplification = checkNumber(this.name, 'amplification', options.amplification ?? 10.0, { min: 0 });
    this.prob = checkNumber(this.name, 'prob', options.prob ?? 0.7, { min: 0, max: 1 });
  }

  protected perturb({ images, labels }: AttackInput): Tensor {
    if (images.ndim !== 4) throw new RangeError(`${this.name}: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
    return patchWiseAscent(this.forward, images, (z) => crossEntropyObjective(z, labels, null), {
      eps: this.maxEpsilon, steps: this.numIterSet, amplification: this.amplification, projectFactor: 1, gradientKernel: null,
    });
  }
}
