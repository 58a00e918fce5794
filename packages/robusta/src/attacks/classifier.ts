// What an attack needs from a model. nn.Module satisfies it; tests use small hand-built models.
import type { Tensor } from '@robusta/torch';

/**
 * A classifier under attack: images in [0, 1] (any input normalisation lives inside the model) map
 * to logits of shape [N, C]. Attacks switch it to eval mode while they run and restore the mode after.
 */
export interface Classifier {
  forward(x: Tensor): Tensor;
  readonly training: boolean;
  train(mode?: boolean): unknown;
  eval(): unknown;
}
