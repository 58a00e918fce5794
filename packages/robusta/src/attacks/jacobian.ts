// The logits' Jacobian with respect to the input, for the boundary-seeking attacks (DeepFool, FAB).
import { autograd, enableGrad, stack, type Tensor, zerosLike } from '@robusta/torch';

/**
 * Logits z [B, C] at x and J = dz/dx as [B, C, d] (d = features per example), by C backward passes
 * of Σ_b z[b, k] (examples do not interact in an eval-mode model, so each row is that example's gradient).
 */
export function logitsJacobian(forward: (x: Tensor) => Tensor, x: Tensor): { logits: Tensor; jacobian: Tensor } {
  return enableGrad(() => {
    const xg = x.detach().requiresGrad_(true);
    const z = forward(xg);
    const classes = z.shape[1]!;
    const rows: Tensor[] = [];
    for (let k = 0; k < classes; k++) {
      const [g] = autograd.grad(z.select(1, k).sum(), [xg], { retainGraph: k < classes - 1, allowUnused: true });
      rows.push((g ?? zerosLike(x)).flatten(1));
    }
    return { logits: z.detach(), jacobian: stack(rows, 1) };
  });
}
