// PGD (L2) — Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018,
// with the L2 steepest-ascent direction g/||g||₂.
import { emptyLike, type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { flatNorm, perExample, projectL2 } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface PGDL2Options extends AttackOptions {
  /** L2 budget. Default 1.0. */
  eps?: number;
  /** Step size. Default 0.2. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Start from a random point of the ball: direction ~ N(0, I) normalised, radius ε·U(0, 1). Default true. */
  randomStart?: boolean;
}

/** Added to ||g||₂ before dividing (torchattacks' eps_for_division). */
const DIVISION_EPS = 1e-10;

/** x^{t+1} = Π_{B₂(x, ε) ∩ [0,1]}(x^t + α·g/||g||₂),  g = ∇ₓ L(θ, x^t, y). */
export class PGDL2 extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly randomStart: boolean;

  constructor(model: Classifier, options: PGDL2Options = {}) {
    super('PGDL2', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 1.0);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 0.2, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.randomStart = options.randomStart ?? true;
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    let adv = this.randomStart ? this.randomPoint(images) : images.clone();
    const objective = (z: Tensor): Tensor => crossEntropyObjective(z, labels, targets);
    for (let i = 0; i < this.steps; i++) {
      adv = advance(adv, () => {
        const { grad } = inputGradient(this.forward, adv, objective);
        const unit = grad.div(perExample(flatNorm(grad, 2).add(DIVISION_EPS), grad));
        return projectL2(adv.add(unit.mul(this.alpha)), images, this.eps);
      });
    }
    return adv;
  }

  private randomPoint(images: Tensor): Tensor {
    const direction = emptyLike(images).normal_();
    const length = flatNorm(direction, 2);
    const radius = zerosLike(length).uniform_(0, 1).mul(this.eps);
    const delta = direction.mul(perExample(radius.div(length), images));
    return images.add(delta).clamp(0, 1);
  }
}
