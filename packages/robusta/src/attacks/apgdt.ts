// APGD-T — the targeted APGD of Croce & Hein, "Reliable evaluation of adversarial robustness with an
// ensemble of diverse parameter-free attacks", ICML 2020: targeted DLR loss, one run per target class.
import type { Tensor } from '@robusta/torch';
import { ApgdBase, type APGDOptions, type ApgdConfig } from './apgd.js';
import type { AttackInput } from './attack.js';
import type { Classifier } from './classifier.js';
import { targetedDlrLoss } from './losses.js';
import { checkSteps } from './params.js';

export interface APGDTOptions extends Omit<APGDOptions, 'loss' | 'mode'> {
  /** Target classes tried: the 2nd, 3rd, ... most likely classes on the clean input. Default 9 (capped at C − 1). */
  nTargetClasses?: number;
}

/**
 * For k = 2 … nTargetClasses + 1: on the examples still classified correctly, run APGD maximising the
 * targeted DLR loss −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2) with t the k-th most likely clean class.
 * Success is any misclassification. Needs at least 4 classes.
 */
export class APGDT extends ApgdBase {
  readonly nTargetClasses: number;

  constructor(model: Classifier, options: APGDTOptions = {}) {
    super('APGDT', model, options, false);
    this.nTargetClasses = checkSteps(this.name, 'nTargetClasses', options.nTargetClasses ?? 9);
  }

  protected perturb({ images, labels, cleanLogits, numClasses }: AttackInput): Tensor {
    if (numClasses < 4) throw new RangeError(`APGDT: the targeted DLR loss needs at least 4 classes, the model has ${numClasses}`);
    const objective: ApgdConfig['objective'] = (z, y, t) => targetedDlrLoss(z, y, t!);
    const fooled: ApgdConfig['fooled'] = (z, y) => z.argmax(1).ne(y);
    const adv = images.clone();
    const robust = cleanLogits.argmax(1).eq(labels);
    const ranks = Math.min(this.nTargetClasses, numClasses - 1);
    for (let rank = 2; rank <= ranks + 1; rank++) {
      for (let r = 0; r < this.nRestarts; r++) {
        this.attackRobust(adv, robust, images, labels, null, (subset) => this.config(objective, fooled, r, rank, subset),
          (subset) => cleanLogits.indexSelect(0, subset).argsort(1, true).select(1, rank - 1).contiguous());
      }
    }
    return adv;
  }
}
