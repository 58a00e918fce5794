// TRADES — Zhang, Yu, Jiao, Xing, El Ghaoui & Jordan, "Theoretically Principled Trade-off between
// Robustness and Accuracy", ICML 2019 (official code: yaodongyu/TRADES, trades.py):
//   L(θ) = CE(f(x), y) + β · (1/N) Σᵢ KL( softmax f(xᵢ) ‖ softmax f(x'ᵢ) ),   β = 6 by default,
//   x' = argmax_{‖x'−x‖∞ ≤ ε} KL(softmax f(x) ‖ softmax f(x')), by sign-gradient ascent from
//   x + 0.001·N(0, 1), the KL summed over the batch (nn.KLDivLoss(size_average=False)).
// As in the official code the KL target softmax f(x) is not detached in the outer loss: gradients
// flow through both arguments. The official code runs a third forward f(x) for that target; with
// no dropout it equals the first, so by default we reuse it (BatchNorm's running statistics then see
// the clean batch once instead of twice per step); officialForwards: true runs the official three
// forward passes f(x), f(x'), f(x), so that the running statistics are the official ones too.
import { F, noGrad, type Tensor } from '@robusta/torch';
import { checkBatch, checkBudget, checkFinite } from './params.js';
import type { AttackBudget } from './recipes.js';
import { linfSignAscent, startingPoint, type StartPoint, withEvalMode } from './inner-attack.js';
import type { AdversarialDefense, DefenseOutput, TrainableModel } from './types.js';

export interface TRADESOptions extends Partial<AttackBudget> {
  /** Weight of the robust (KL) term. Default 6. */
  beta?: number;
  /** Default 'gaussian' (x + 0.001·N(0, 1)). */
  start?: StartPoint;
  /**
   * Run f(x) again for the KL target, after f(x'), as yaodongyu/TRADES' trades_loss does: the same
   * loss and gradients, BatchNorm's running statistics updated three times per step in the official
   * order. Default false (two forward passes).
   */
  officialForwards?: boolean;
}

/** KL(softmax(clean) ‖ softmax(adv)) summed over the batch: Σ p_clean · (log p_clean − log_softmax(adv)). */
export function klSum(advLogits: Tensor, cleanProbs: Tensor): Tensor {
  return F.klDiv(F.logSoftmax(advLogits, 1), cleanProbs, { reduction: 'sum' });
}

export class TRADES implements AdversarialDefense {
  readonly name = 'TRADES';
  readonly budget: AttackBudget;
  readonly beta: number;
  readonly start: StartPoint;
  readonly officialForwards: boolean;

  constructor(o: TRADESOptions = {}) {
    this.budget = checkBudget(this.name, o);
    this.beta = checkFinite(this.name, 'beta', o.beta ?? 6);
    this.start = o.start ?? 'gaussian';
    this.officialForwards = o.officialForwards ?? false;
  }

  /** The KL attack (eval mode): ascend Σ KL(softmax f(x) ‖ softmax f(x')) over x'. */
  generate(model: TrainableModel, x: Tensor, y: Tensor): Tensor {
    checkBatch(this.name, x, y);
    return withEvalMode(model, () => {
      const cleanProbs = noGrad(() => F.softmax(model.forward(x), 1));
      const x0 = startingPoint(this.name, x, this.start, this.budget.eps);
      try {
        return linfSignAscent(model, x, x0, this.budget, (logits) => klSum(logits, cleanProbs));
      } finally {
        x0.dispose();
        cleanProbs.dispose();
      }
    });
  }

  objective(model: TrainableModel, x: Tensor, xAdv: Tensor, y: Tensor): DefenseOutput {
    const n = x.shape[0]!;
    const logits = model.forward(x);
    const advLogits = model.forward(xAdv);
    const natural = F.crossEntropy(logits, y);
    const target = this.officialForwards ? model.forward(x) : logits;
    const robust = klSum(advLogits, F.softmax(target, 1)).div(n);
    return { loss: natural.add(robust.mul(this.beta)), cleanLogits: logits.detach(), advLogits: advLogits.detach() };
  }

  compute(model: TrainableModel, x: Tensor, y: Tensor): DefenseOutput {
    const xAdv = this.generate(model, x, y);
    return this.objective(model, x, xAdv, y);
  }
}
