// The variance-tuned momentum iteration shared by VMI-FGSM and VNI-FGSM — Wang & He, "Enhancing the
// Transferability of Adversarial Attacks through Variance Tuning", CVPR 2021, Algorithm 1.
import { emptyLike, type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { meanAbsNormalized } from './momentum.js';
import { advance } from './state.js';

/** The options of VMI-FGSM and VNI-FGSM (torchattacks' names and defaults). */
export interface VarianceTuningOptions extends AttackOptions {
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

/** VMI-FGSM and VNI-FGSM: the same parameters and iteration, with or without the Nesterov look-ahead. */
export abstract class VarianceTunedAttack extends Attack implements VarianceTuning {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;
  readonly N: number;
  readonly beta: number;

  protected constructor(name: string, model: Classifier, options: VarianceTuningOptions, private readonly nesterov: boolean) {
    super(name, model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 1.0, { min: 0 });
    this.N = checkSteps(this.name, 'N', options.N ?? 5);
    this.beta = checkNumber(this.name, 'beta', options.beta ?? 3 / 2, { min: 0 });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    return varianceTunedAscent(this.forward, images, labels, targets, this, this.nesterov);
  }
}

export interface VarianceTuning {
  eps: number;
  alpha: number;
  steps: number;
  decay: number;
  /** Neighbours per step. */
  N: number;
  /** Neighbourhood half-width / ε. */
  beta: number;
}

/**
 * steps × { ĝ = ∇ at x^t (nesterov: at x^t + α·μ·g_t); g ← (ĝ + v)/mean|ĝ + v| + μ·g;
 * v ← mean of N neighbour gradients around x^t − ĝ; x^t ← Π(x^t + α·sign(g)) }.
 */
export function varianceTunedAscent(forward: (x: Tensor) => Tensor, images: Tensor, labels: Tensor, targets: Tensor | null,
  p: VarianceTuning, nesterov: boolean): Tensor {
  const objective = (z: Tensor): Tensor => crossEntropyObjective(z, labels, targets);
  const radius = p.eps * p.beta;
  let state = { adv: images.clone(), momentum: zerosLike(images), variance: zerosLike(images) };
  for (let i = 0; i < p.steps; i++) {
    state = advance(state, () => {
      const at = nesterov ? state.adv.add(state.momentum.mul(p.decay * p.alpha)) : state.adv;
      const { grad } = inputGradient(forward, at, objective);
      const momentum = meanAbsNormalized(grad.add(state.variance)).add(state.momentum.mul(p.decay));
      let neighbours = zerosLike(images);
      for (let k = 0; k < p.N; k++) {
        // torchattacks fills r with N(0, 1) and then overwrites it with U(−βε, βε): drawing the same
        // way keeps a seeded run on its random stream.
        const r = emptyLike(images).normal_().uniform_(-radius, radius);
        neighbours = neighbours.add(inputGradient(forward, state.adv.add(r), objective).grad);
      }
      const variance = neighbours.div(p.N).sub(grad);
      return { adv: projectLinf(state.adv.add(momentum.sign().mul(p.alpha)), images, p.eps), momentum, variance };
    });
  }
  return state.adv;
}
