// The one gradient computation every white-box attack repeats: d objective / d input.
import { autograd, enableGrad, noGrad, type Tensor, zerosLike } from '@robusta/torch';

export interface InputGradient {
  /** d(sum of the per-example objective)/dx, shaped like x. */
  grad: Tensor;
  /** The model's logits at x (detached). */
  logits: Tensor;
  /** The per-example objective at x (detached), shape [N]. */
  objective: Tensor;
}

/**
 * Gradient of Σ_i objective(logits)_i with respect to the input x. Summing per-example objectives
 * keeps every example's gradient independent of the batch it is computed in.
 */
export function inputGradient(forward: (x: Tensor) => Tensor, x: Tensor, objective: (logits: Tensor) => Tensor): InputGradient {
  return enableGrad(() => {
    const xg = x.detach().requiresGrad_(true);
    const logits = forward(xg);
    const obj = objective(logits);
    const total = obj.ndim === 0 ? obj : obj.sum();
    const [g] = autograd.grad(total, [xg], { allowUnused: true });
    return { grad: g ?? zerosLike(x), logits: logits.detach(), objective: obj.detach() };
  });
}

/** Logits without recording a graph. */
export function logitsOf(forward: (x: Tensor) => Tensor, x: Tensor): Tensor {
  return noGrad(() => forward(x));
}
