// UPGD — torchattacks' "ultimate" L∞ PGD: a random start (Madry et al., ICLR 2018), momentum (Dong et
// al., CVPR 2018), a choice of loss (CE; the CW margin of Carlini & Wagner, S&P 2017; DLR of Croce &
// Hein, ICML 2020) and EOT gradient averaging (Athalye et al., ICML 2018), in one attack.
import { emptyLike, type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective, dlrLoss, margin, maxOther, pick, targetedDlrLoss } from './losses.js';
import { projectLinf } from './lp.js';
import { accumulateMomentum } from './momentum.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

/** A per-example objective [N] to ascend, from the logits, the labels and the targets (null untargeted). */
export type UPGDLossFunction = (logits: Tensor, labels: Tensor, targets: Tensor | null) => Tensor;

export interface UPGDOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Start from x + U(−ε, ε) (clipped to [0, 1]). Default false. */
  randomStart?: boolean;
  /** 'ce', 'margin' (CW's f with κ = 0), 'dlr', or a function of the logits. Default 'ce'. */
  loss?: 'ce' | 'margin' | 'dlr' | UPGDLossFunction;
  /** Momentum decay μ (0: no momentum). Default 1.0. */
  decay?: number;
  /** Gradients averaged per step (for stochastic models). Default 1. */
  eotIter?: number;
}

/**
 * With L the chosen loss and K = eotIter passes:
 *   ḡ = 1/K Σ_k ∇ₓ L(f_k(x^t)),   g_{t+1} = ḡ/mean|ḡ| + μ·g_t,   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(g_{t+1})).
 * Losses (ascended; targeted versions move towards t):
 *   ce: CE(z, y) | −CE(z, t);   margin: −max(z_y − max_{j≠y} z_j, 0) | −max(max_{j≠t} z_j − z_t, 0);
 *   dlr: −(z_y − max_{j≠y} z_j)/(z_π1 − z_π3) | −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2).
 */
export class UPGD extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly randomStart: boolean;
  readonly loss: 'ce' | 'margin' | 'dlr' | UPGDLossFunction;
  readonly decay: number;
  readonly eotIter: number;

  constructor(model: Classifier, options: UPGDOptions = {}) {
    super('UPGD', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.randomStart = options.randomStart ?? false;
    const loss = options.loss ?? 'ce';
    if (typeof loss !== 'function' && !['ce', 'margin', 'dlr'].includes(loss)) {
      throw new RangeError(`${this.name}: loss must be 'ce', 'margin', 'dlr' or a function, got '${String(loss)}'`);
    }
    this.loss = loss;
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 1.0, { min: 0 });
    this.eotIter = checkSteps(this.name, 'eotIter', options.eotIter ?? 1);
  }

  protected perturb(input: AttackInput): Tensor {
    const { images, labels, targets } = input;
    if (this.loss === 'dlr') {
      const needed = targets ? 4 : 3;
      const numClasses = input.numClasses;
      if (numClasses < needed) throw new RangeError(`${this.name}: loss 'dlr' needs at least ${needed} classes, the model has ${numClasses}`);
    }
    const objective = (z: Tensor): Tensor => this.objective(z, labels, targets);
    let state = {
      adv: this.randomStart ? images.add(emptyLike(images).uniform_(-this.eps, this.eps)).clamp(0, 1) : images.clone(),
      momentum: zerosLike(images),
    };
    for (let i = 0; i < this.steps; i++) {
      state = advance(state, () => {
        let grad = zerosLike(images);
        for (let k = 0; k < this.eotIter; k++) grad = grad.add(inputGradient(this.forward, state.adv, objective).grad.div(this.eotIter));
        const momentum = accumulateMomentum(grad, state.momentum, this.decay);
        return { adv: projectLinf(state.adv.add(momentum.sign().mul(this.alpha)), images, this.eps), momentum };
      });
    }
    return state.adv;
  }

  private objective(z: Tensor, labels: Tensor, targets: Tensor | null): Tensor {
    const loss = this.loss;
    if (typeof loss === 'function') return loss(z, labels, targets);
    if (loss === 'ce') return crossEntropyObjective(z, labels, targets);
    if (loss === 'dlr') return targets ? targetedDlrLoss(z, labels, targets) : dlrLoss(z, labels);
    // margin: the CW f-function with κ = 0, zero once the example is misclassified (reached the target).
    return targets ? maxOther(z, targets).sub(pick(z, targets)).clampMin(0).neg() : margin(z, labels).clampMin(0).neg();
  }
}
