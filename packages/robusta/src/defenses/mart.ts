// MART — Wang, Zou, Yi, Bailey, Ma & Gu, "Improving Adversarial Robustness Requires Revisiting
// Misclassified Examples", ICLR 2020. The loss exactly as the official code (YisenWang/MART, mart.py):
//   p' = softmax f(x'),  p = softmax f(x),  ŷ = argmax_{k≠y} p'_k
//   BCE(p', y) = CE(f(x'), y) − (1/N) Σᵢ log(1.0001 − p'_{i,ŷᵢ} + 1e-12)         (boosted CE)
//   L = BCE(p', y) + β · (1/N) Σᵢ KL( p_i ‖ p'_i ) · (1.0000001 − p_{i,yᵢ}),    β = 6 by default,
// where the KL is Σ_k p_k (log p_k − log(p'_k + 1e-12)), and p, p_y keep their gradients.
// x' is PGD on the (batch-mean) cross-entropy from x + 0.001·N(0, 1), in eval mode, as in mart.py.
import { F, type Tensor, where } from '@robusta/torch';
import { checkBatch, checkBudget, checkFinite } from './params.js';
import type { AttackBudget } from './recipes.js';
import { linfSignAscent, startingPoint, type StartPoint, withEvalMode } from './inner-attack.js';
import type { AdversarialDefense, DefenseOutput, TrainableModel } from './types.js';

export interface MARTOptions extends Partial<AttackBudget> {
  /** Weight of the misclassification-aware KL term. Default 6. */
  beta?: number;
  /** Default 'gaussian' (x + 0.001·N(0, 1)). */
  start?: StartPoint;
}

export class MART implements AdversarialDefense {
  readonly name = 'MART';
  readonly budget: AttackBudget;
  readonly beta: number;
  readonly start: StartPoint;

  constructor(o: MARTOptions = {}) {
    this.budget = checkBudget(this.name, o);
    this.beta = checkFinite(this.name, 'beta', o.beta ?? 6);
    this.start = o.start ?? 'gaussian';
  }

  generate(model: TrainableModel, x: Tensor, y: Tensor): Tensor {
    checkBatch(this.name, x, y);
    return withEvalMode(model, () => {
      const x0 = startingPoint(this.name, x, this.start, this.budget.eps);
      try {
        return linfSignAscent(model, x, x0, this.budget, (logits) => F.crossEntropy(logits, y));
      } finally {
        x0.dispose();
      }
    });
  }

  objective(model: TrainableModel, x: Tensor, xAdv: Tensor, y: Tensor): DefenseOutput {
    const n = x.shape[0]!;
    const logits = model.forward(x);
    const advLogits = model.forward(xAdv);
    const advProbs = F.softmax(advLogits, 1);
    // ŷ: the most likely wrong class under x' (the top class, or the runner-up when the top one is y).
    const top2 = advProbs.argsort(1).slice(1, -2);
    const first = top2.select(1, 1);
    const second = top2.select(1, 0);
    const newY = where(first.eq(y), second, first);
    const boosted = F.nllLoss(advProbs.neg().add(1.0001).add(1e-12).log(), newY);
    const lossAdv = F.crossEntropy(advLogits, y).add(boosted);
    const natProbs = F.softmax(logits, 1);
    const trueProbs = natProbs.gather(1, y.unsqueeze(1)).squeeze(1);
    const kl = F.klDiv(advProbs.add(1e-12).log(), natProbs, { reduction: 'none' }).sum(1);
    const lossRobust = kl.mul(trueProbs.neg().add(1.0000001)).sum().div(n);
    return { loss: lossAdv.add(lossRobust.mul(this.beta)), cleanLogits: logits.detach(), advLogits: advLogits.detach() };
  }

  compute(model: TrainableModel, x: Tensor, y: Tensor): DefenseOutput {
    const xAdv = this.generate(model, x, y);
    return this.objective(model, x, xAdv, y);
  }
}
