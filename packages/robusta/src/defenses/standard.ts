// Standard training: empirical risk minimisation with the clean cross-entropy,
//   L(θ) = (1/N) Σᵢ CE(f_θ(xᵢ), yᵢ).
import { F, type Tensor } from '@robusta/torch';
import { checkBatch } from './params.js';
import type { AdversarialDefense, DefenseOutput, TrainableModel } from './types.js';

export class Standard implements AdversarialDefense {
  readonly name = 'Standard';

  /** No attack: the "adversarial" batch is the clean one (lets AWP wrap standard training too). */
  generate(_model: TrainableModel, x: Tensor, y: Tensor): Tensor {
    checkBatch(this.name, x, y);
    return x.detach();
  }

  objective(model: TrainableModel, x: Tensor, _xAdv: Tensor, y: Tensor): DefenseOutput {
    const logits = model.forward(x);
    return { loss: F.crossEntropy(logits, y), cleanLogits: logits.detach(), advLogits: null };
  }

  compute(model: TrainableModel, x: Tensor, y: Tensor): DefenseOutput {
    checkBatch(this.name, x, y);
    return this.objective(model, x, x, y);
  }
}
