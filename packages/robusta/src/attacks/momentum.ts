// The momentum accumulator of the MI-FGSM family (Dong et al., "Boosting Adversarial Attacks with
// Momentum", CVPR 2018), shared by DIFGSM, TIFGSM, NIFGSM, SINIFGSM, VMIFGSM, VNIFGSM and UPGD.
import type { Tensor } from '@robusta/torch';

/**
 * g / (||g||₁ / d) per example, the L1 normalisation as torchattacks takes it (mean |g| over every
 * dimension but the batch). The mean is floored at 1e-12: a zero gradient (a saturated softmax in
 * float32) then gives a zero direction instead of torchattacks' 0/0 = NaN images.
 */
export function meanAbsNormalized(grad: Tensor): Tensor {
  const dims = Array.from({ length: grad.ndim - 1 }, (_, i) => i + 1);
  return grad.div(grad.abs().mean(dims, true).clampMin(1e-12));
}

/** g_{t+1} = g/mean|g| + μ·g_t. */
export function accumulateMomentum(grad: Tensor, momentum: Tensor, decay: number): Tensor {
  return meanAbsNormalized(grad).add(momentum.mul(decay));
}
