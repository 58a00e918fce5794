// AT — Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards Deep Learning Models Resistant to
// Adversarial Attacks", ICLR 2018. The saddle-point problem
//   min_θ E_(x,y) [ max_{‖δ‖∞ ≤ ε} CE(f_θ(x + δ), y) ],
// the inner max approximated by PGD from a uniform random start:
//   x⁰ = clip_[0,1](x + U(−ε, ε)),  x^{t+1} = Π_{B∞(x,ε)∩[0,1]}(x^t + α·sign ∇ₓ CE(f(x^t), y)),
// and the outer loss L = (1/N) Σᵢ CE(f_θ(x'ᵢ), yᵢ).
import { F, noGrad, type Tensor } from '@robusta/torch';
import { checkBatch, checkBudget } from './params.js';
import type { AttackBudget } from './recipes.js';
import { type AttackMode, linfSignAscent, startingPoint, type StartPoint, withEvalMode, withMode } from './inner-attack.js';
import type { AdversarialDefense, DefenseOutput, TrainableModel } from './types.js';

export interface ATOptions extends Partial<AttackBudget> {
  /** Default 'uniform' (Madry et al.). */
  start?: StartPoint;
  /**
   * The model's mode during the inner attack: 'eval' (default; see inner-attack.ts) or 'train', as
   * Madry et al.'s and Wong et al.'s code attack the training-mode model (batch statistics, running
   * statistics updated by each attack step).
   */
  attackMode?: AttackMode;
}

export class AT implements AdversarialDefense {
  readonly name: string;
  readonly budget: AttackBudget;
  readonly start: StartPoint;
  readonly attackMode: AttackMode;

  /** `name` lets variants (Fast-AT) report under their own name. */
  constructor(o: ATOptions = {}, name = 'AT') {
    this.name = name;
    this.budget = checkBudget(this.name, o);
    this.start = o.start ?? 'uniform';
    if (o.attackMode !== undefined && o.attackMode !== 'eval' && o.attackMode !== 'train') {
      throw new RangeError(`${this.name}: attackMode must be 'eval' or 'train', got '${String(o.attackMode)}'`);
    }
    this.attackMode = o.attackMode ?? 'eval';
  }

  /** PGD on the (summed, per-example independent) cross-entropy, model in attackMode. */
  generate(model: TrainableModel, x: Tensor, y: Tensor): Tensor {
    checkBatch(this.name, x, y);
    return withMode(model, this.attackMode, () => {
      const x0 = startingPoint(this.name, x, this.start, this.budget.eps);
      try {
        return linfSignAscent(model, x, x0, this.budget, (logits) => F.crossEntropy(logits, y, { reduction: 'sum' }));
      } finally {
        x0.dispose();
      }
    });
  }

  objective(model: TrainableModel, x: Tensor, xAdv: Tensor, y: Tensor): DefenseOutput {
    const advLogits = model.forward(xAdv);
    // The loss never sees the clean batch; its accuracy is measured in eval mode, without a graph.
    const cleanLogits = withEvalMode(model, () => noGrad(() => model.forward(x)));
    return { loss: F.crossEntropy(advLogits, y), cleanLogits, advLogits: advLogits.detach() };
  }

  compute(model: TrainableModel, x: Tensor, y: Tensor): DefenseOutput {
    const xAdv = this.generate(model, x, y);
    return this.objective(model, x, xAdv, y);
  }
}
