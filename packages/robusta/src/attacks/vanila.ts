// VANILA — torchattacks' identity "attack": the clean images, as a baseline row in a table of attacks.
import type { Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';

/** x_adv = x. Success then reads as the clean error rate. */
export class VANILA extends Attack {
  constructor(model: Classifier, options: AttackOptions = {}) {
    super('VANILA', model, options, { targeted: false });
  }

  protected perturb({ images }: AttackInput): Tensor {
    return images.clone();
  }
}
