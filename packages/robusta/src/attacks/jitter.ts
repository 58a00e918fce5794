// Jitter — Schwinn, Raab, Nguyen, Zanca & Eskofier, "Exploring Misclassifications of Robust Neural
// Networks to Enhance Adversarial Attacks", Applied Intelligence 2023 (arXiv:2105.10304).
import { autograd, emptyLike, enableGrad, F, onesLike, randnLike, type Tensor, where } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { flatNorm, projectLinf } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface JitterOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Temperature s of the rescaled softmax. Default 10. */
  scale?: number;
  /** Standard deviation σ of the jitter added to the softmax (0: none). Default 0.1. */
  std?: number;
  /** Start from x + U(−ε, ε) (clipped to [0, 1]). Default true. */
  randomStart?: boolean;
}

/**
 * PGD on a jittered, scale-free loss that keeps pushing misclassified examples towards other classes
 * at a smaller perturbation:
 *   ẑ = softmax(s·z/||z||∞) + σ·N(0, I),   L = mean_c (ẑ_c − onehot(y)_c)²   (targeted: −mean_c (ẑ_c − onehot(t)_c)²),
 *   L ← L/||x^t − x||∞ where the attack already succeeds (prediction ≠ y; targeted: = t) and x^t ≠ x,
 *   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(∇ₓ L)).
 * The division is part of the graph (its gradient reaches x^t through ||x^t − x||∞). The start and the
 * jitter come from torch's generator (seed the attack). Returns the last iterate, as torchattacks.
 * Targeted, torchattacks divides where prediction ≠ the labels it was given: the targets in its
 * by-label mode (the examples not yet at the target), the true labels in its random/least-likely modes.
 */
export class Jitter extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly scale: number;
  readonly std: number;
  readonly randomStart: boolean;

  constructor(model: Classifier, options: JitterOptions = {}) {
    super('Jitter', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.scale = checkNumber(this.name, 'scale', options.scale ?? 10, { min: 0 });
    this.std = checkNumber(this.name, 'std', options.std ?? 0.1, { min: 0 });
    this.randomStart = options.randomStart ?? true;
  }

  protected perturb({ images, labels, targets, numClasses }: AttackInput): Tensor {
    const goal = (targets ?? labels).oneHot(numClasses).to({ dtype: images.dtype });
    let adv = this.randomStart ? images.add(emptyLike(images).uniform_(-this.eps, this.eps)).clamp(0, 1) : images.clone();
    for (let i = 0; i < this.steps; i++) {
      adv = advance(adv, () => {
        const grad = enableGrad(() => {
          const x = adv.detach().requiresGrad_(true);
          const logits = this.forward(x);
          const pred = logits.argmax(1);
          const fooled = targets ? pred.eq(targets) : pred.ne(labels);
          const scaled = F.softmax(logits.mul(this.scale).div(logits.norm(Infinity, { dim: 1, keepdim: true })), 1);
          const jittered = this.std !== 0 ? scaled.add(randnLike(scaled).mul(this.std)) : scaled;
          const distance = F.mseLoss(jittered, goal, { reduction: 'none' }).mean(1);
          const loss = targets ? distance.neg() : distance;
          const r = flatNorm(x.sub(images), Infinity);
          // Dividing by 1 elsewhere (not a where() of a division) keeps 0/0 out of the backward pass.
          const divide = fooled.logicalAnd(r.ne(0));
          const objective = loss.div(where(divide, r, onesLike(r)));
          return autograd.grad(objective.sum(), [x])[0]!;
        });
        return projectLinf(adv.add(grad.sign().mul(this.alpha)), images, this.eps);
      });
    }
    return adv;
  }
}
