// VNI-FGSM — Wang & He, "Enhancing the Transferability of Adversarial Attacks through Variance Tuning", CVPR 2021.
import type { Classifier } from './classifier.js';
import { VarianceTunedAttack, type VarianceTuningOptions } from './variance-tuning.js';

export type VNIFGSMOptions = VarianceTuningOptions;

/**
 * VMI-FGSM with the gradient ĝ taken at the Nesterov look-ahead point (variance-tuning.ts):
 *   ĝ = ∇ₓ CE(f(x^t + α·μ·g_t), y),   g_{t+1} = (ĝ + v_t)/mean|ĝ + v_t| + μ·g_t,
 *   v_{t+1} = 1/N Σ_{i≤N} ∇ₓ CE(f(x^t + r_i), y) − ĝ,  r_i ~ U(−βε, βε)^d  (around x^t, not the look-ahead),
 *   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(g_{t+1})).
 * The neighbours come from torch's generator (seed the attack).
 */
export class VNIFGSM extends VarianceTunedAttack {
  constructor(model: Classifier, options: VNIFGSMOptions = {}) {
    super('VNIFGSM', model, options, true);
  }
}
