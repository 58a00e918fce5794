// The attack of the NeurIPS 2018 tutorial "Adversarial Robustness: Theory and Practice" (Kolter &
// Madry), the source document's demo: δ starts at 0 and plain SGD (lr 0.1) descends, for 30 steps,
//   untargeted:  L(δ) = −CE(f(x + δ), y)
//   targeted:    L(δ) = −CE(f(x + δ), y) + CE(f(x + δ), t)
// with δ clamped to [−ε, ε] after each step (ε = 2/255 in the demo). Unlike the tutorial, x + δ is
// also kept in [0, 1] (the tutorial's pig never leaves it at ε = 2/255; other images might).
import { F, type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface TutorialSGDOptions extends AttackOptions {
  /** L∞ budget. Default 2/255. */
  eps?: number;
  /** SGD learning rate on δ. Default 0.1. */
  lr?: number;
  /** SGD steps. Default 30. */
  steps?: number;
}

export class TutorialSGD extends Attack {
  readonly eps: number;
  readonly lr: number;
  readonly steps: number;

  constructor(model: Classifier, options: TutorialSGDOptions = {}) {
    super('TutorialSGD', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 2 / 255);
    this.lr = checkNumber(this.name, 'lr', options.lr ?? 0.1, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 30);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    // The batch-mean cross-entropy of the tutorial, as a per-example objective whose sum is the loss.
    const n = images.shape[0]!;
    const objective = (logits: Tensor): Tensor => {
      const away = F.crossEntropy(logits, labels, { reduction: 'none' }).neg();
      const loss = targets ? away.add(F.crossEntropy(logits, targets, { reduction: 'none' })) : away;
      return loss.div(n);
    };
    let delta = zerosLike(images);
    for (let i = 0; i < this.steps; i++) {
      delta = advance(delta, () => {
        const { grad } = inputGradient(this.forward, images.add(delta), objective);
        // δ ← clamp(δ − lr·∇L, −ε, ε), then keep x + δ inside [0, 1].
        return delta.sub(grad, this.lr).clamp(-this.eps, this.eps).clamp(images.neg(), images.neg().add(1));
      });
    }
    return images.add(delta);
  }
}
