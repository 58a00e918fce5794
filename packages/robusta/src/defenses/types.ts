// The pieces adversarial training is made of, kept apart as in MAIR (Kim et al., "Fantastic Robustness
// Measures", NeurIPS 2023, and its library): the model being trained (any Module), the defense loss
// (what one training step minimises, including its inner maximisation), and the trainer that loops.
import type { Tensor } from '@robusta/torch';

/**
 * What a defense needs from a model: nn.Module satisfies it. forward maps images in [0, 1] (any input
 * normalisation lives inside the model) to logits [N, C].
 */
export interface TrainableModel {
  forward(x: Tensor): Tensor;
  readonly training: boolean;
  train(mode?: boolean): unknown;
  eval(): unknown;
  /** Learnable tensors with their dotted names (live tensors: never dispose them). */
  namedParameters(): [string, Tensor][];
  parameters(): Tensor[];
  /** Running statistics and other non-learned state (live tensors). */
  buffers(): Tensor[];
}

/** Where a training step is: defenses with warm-up schedules (AWP) read it. */
export interface DefenseContext {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
}

/** One step's training objective and what the trainer reports about the batch. */
export interface DefenseOutput {
  /** The scalar loss to back-propagate (with a graph to the parameters). */
  loss: Tensor;
  /** Logits on the clean batch (detached), for the clean training accuracy. */
  cleanLogits: Tensor;
  /** Logits on the adversarial batch (detached), for the robust training accuracy; null without an attack. */
  advLogits: Tensor | null;
  /**
   * Called by the trainer after loss.backward() and before optimizer.step(): AWP puts the weights
   * back here. Absent for defenses that leave the model as it was.
   */
  restore?: () => void;
}

/** A training objective: Standard, AT, TRADES, MART, Fast-AT, or AWP around one of them. */
export interface DefenseLoss {
  readonly name: string;
  /**
   * The loss of one batch: x float [N, ...] in [0, 1], y int64 [N]. The model is in training mode
   * on entry and on exit; inner attacks switch it to eval mode while they run and leave no gradient
   * on the parameters. Tensors returned belong to the caller (run it inside tidy()).
   */
  compute(model: TrainableModel, x: Tensor, y: Tensor, context?: DefenseContext): DefenseOutput;
}

/**
 * A defense in two stages, so that AWP can perturb the weights between them: the inner maximisation
 * (adversarial examples, computed with the weights as they are) and the outer loss on them.
 */
export interface AdversarialDefense extends DefenseLoss {
  /** The adversarial examples of the batch (detached, in [0, 1]), with the model in eval mode. */
  generate(model: TrainableModel, x: Tensor, y: Tensor): Tensor;
  /** The outer loss given the adversarial examples (model in training mode). */
  objective(model: TrainableModel, x: Tensor, xAdv: Tensor, y: Tensor): DefenseOutput;
}

/** Bad defense hyper-parameters or inputs. */
export class DefenseConfigError extends RangeError {
  constructor(defense: string, message: string) {
    super(`${defense}: ${message}`);
    this.name = 'DefenseConfigError';
  }
}
