// CW-L2 — Carlini & Wagner, "Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017.
import { autograd, callOp, enableGrad, noGrad, Tensor, where, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { maxOther, pick } from './losses.js';
import { perExample } from './lp.js';
import { checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface CWOptions extends AttackOptions {
  /** Weight c of the classification term. Default 1. */
  c?: number;
  /** Confidence κ: the margin the adversarial class must win by. Default 0. */
  kappa?: number;
  /** Adam iterations. Default 50. */
  steps?: number;
  /** Adam learning rate. Default 0.01. */
  lr?: number;
}

/** Adam (Kingma & Ba 2015) with PyTorch's defaults; the update is written as torch.optim.Adam computes it. */
const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPS = 1e-8;
/** arctanh(±1) is infinite: the original code scales by 0.999999 so saturated pixels stay movable. */
const TANH_SCALE = 0.999999;

/**
 * Change of variables x' = ½(tanh(w) + 1) (always in [0, 1]) and Adam on
 *   minimise ||x' − x||₂² + c·f(x'),   f(x') = max(Z(x')_y − max_{i≠y} Z(x')_i, −κ)
 * (targeted: f = max(max_{i≠t} Z_i − Z_t, −κ)). Keeps, per example, the smallest-L2 x' that fooled the
 * model; examples never fooled return x. Fixed c (no binary search), and, as torchattacks, stops when
 * the total loss grew since the last of 10 evenly spaced checks.
 */
export class CW extends Attack {
  readonly c: number;
  readonly kappa: number;
  readonly steps: number;
  readonly lr: number;

  constructor(model: Classifier, options: CWOptions = {}) {
    super('CW', model, options, { targeted: true });
    this.c = checkNumber(this.name, 'c', options.c ?? 1, { min: 0 });
    this.kappa = checkNumber(this.name, 'kappa', options.kappa ?? 0, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 50);
    this.lr = checkNumber(this.name, 'lr', options.lr ?? 0.01, { min: 0, exclusiveMin: true });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const w0 = noGrad(() => callOp('aten::atanh', [images.mul(2).sub(1).mul(TANH_SCALE)]) as Tensor);
    let s = {
      w: w0,
      m: zerosLike(images),
      v: zerosLike(images),
      bestAdv: images.clone(),
      bestL2: zerosLike(labels, { dtype: images.dtype }).add(1e10),
    };
    let previousCost = Infinity;
    const checkEvery = Math.max(Math.floor(this.steps / 10), 1);
    for (let step = 0; step < this.steps; step++) {
      let cost = 0;
      s = advance(s, () => {
        const { adv, l2, logits, total, grad } = enableGrad(() => {
          const w = s.w.detach().requiresGrad_(true);
          const adv = w.tanh().add(1).mul(0.5);
          const l2 = adv.sub(images).square().flatten(1).sum(1);
          const logits = this.forward(adv);
          const total = l2.sum().add(this.classificationLoss(logits, labels, targets).sum().mul(this.c));
          const [grad] = autograd.grad(total, [w]);
          return { adv: adv.detach(), l2: l2.detach(), logits: logits.detach(), total: total.detach(), grad: grad! };
        });
        cost = total.item();
        // Adam step (torch.optim.Adam): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², w ← w − (lr/bc₁)·m/(√v/√bc₂ + ε)
        const t = step + 1;
        const m = s.m.mul(BETA1).add(grad.mul(1 - BETA1));
        const v = s.v.mul(BETA2).add(grad.mul(grad).mul(1 - BETA2));
        const bc1 = 1 - BETA1 ** t;
        const bc2 = 1 - BETA2 ** t;
        const denom = v.sqrt().div(Math.sqrt(bc2)).add(ADAM_EPS);
        const w = s.w.sub(m.div(denom).mul(this.lr / bc1));
        // The iterate evaluated this step (before the update) is the candidate, as in torchattacks.
        const pred = logits.argmax(1);
        const fooled = targets ? pred.eq(targets) : pred.ne(labels);
        const better = fooled.logicalAnd(s.bestL2.gt(l2));
        const bestL2 = where(better, l2, s.bestL2);
        const bestAdv = where(perExample(better, adv), adv, s.bestAdv);
        return { w, m, v, bestAdv, bestL2 };
      });
      if (step % checkEvery === 0) {
        if (cost > previousCost) break;
        previousCost = cost;
      }
    }
    return s.bestAdv;
  }

  /** f of the paper (their f₆), per example. */
  private classificationLoss(logits: Tensor, labels: Tensor, targets: Tensor | null): Tensor {
    const gap = targets ? maxOther(logits, targets).sub(pick(logits, targets)) : pick(logits, labels).sub(maxOther(logits, labels));
    return gap.clampMin(-this.kappa);
  }
}
