// VMI-FGSM — Wang & He, "Enhancing the Transferability of Adversarial Attacks through Variance Tuning", CVPR 2021.
import type { Classifier } from './classifier.js';
import { VarianceTunedAttack, type VarianceTuningOptions } from './variance-tuning.js';

export type VMIFGSMOptions = VarianceTuningOptions;

/**
 * MI-FGSM with the gradient corrected by the previous step's gradient variance (variance-tuning.ts):
 *   ĝ = ∇ₓ CE(f(x^t), y),   g_{t+1} = (ĝ + v_t)/mean|ĝ + v_t| + μ·g_t,
 *   v_{t+1} = 1/N Σ_{i≤N} ∇ₓ CE(f(x^t + r_i), y) − ĝ,  r_i ~ U(−βε, βε)^d,
 *   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(g_{t+1})).
 * The neighbours come from torch's generator (seed the attack).
 */
export class VMIFGSM extends VarianceTunedAttack {
  constructor(model: Classifier, options: VMIFGSMOptions = {}) {
    super('VMIFGSM', model, options, false);
  }
}
