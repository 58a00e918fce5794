// Per-example Lp geometry on batches [N, ...]: norms, broadcasting, and projections onto the
// ε-ball around the clean images intersected with the image box [0, 1].
import type { Tensor } from '@robusta/torch';
import type { Norm } from './params.js';

/** A per-example vector [N] reshaped to [N, 1, 1, ...] so it broadcasts against `like`. */
export function perExample(v: Tensor, like: Tensor): Tensor {
  return v.reshape([v.shape[0]!, ...new Array<number>(like.ndim - 1).fill(1)]);
}

/** ||x_i||_p for every example i (p = Infinity or 2), shape [N]. */
export function flatNorm(x: Tensor, p: number): Tensor {
  return x.flatten(1).norm(p, { dim: 1 });
}

/** The norm that defines the threat model: L∞ or L2. */
export const normOf = (x: Tensor, norm: Norm): Tensor => flatNorm(x, norm === 'Linf' ? Infinity : 2);

/** Clip to {z : ||z - x||∞ <= eps} ∩ [0, 1]. */
export function projectLinf(adv: Tensor, x: Tensor, eps: number): Tensor {
  return adv.clamp(x.sub(eps), x.add(eps)).clamp(0, 1);
}

/** Radial projection onto {z : ||z - x||₂ <= eps}, then clip to [0, 1] (as PGD-L2 of Madry et al.). */
export function projectL2(adv: Tensor, x: Tensor, eps: number): Tensor {
  const delta = adv.sub(x);
  const n = flatNorm(delta, 2);
  // factor = min(eps / ||δ||, 1); ||δ|| = 0 gives +inf, which the min turns into 1.
  const factor = n.reciprocal().mul(eps).clampMax(1);
  return x.add(delta.mul(perExample(factor, delta))).clamp(0, 1);
}

export function projectBall(adv: Tensor, x: Tensor, eps: number, norm: Norm): Tensor {
  return norm === 'Linf' ? projectLinf(adv, x, eps) : projectL2(adv, x, eps);
}
