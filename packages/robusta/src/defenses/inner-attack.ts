// The inner maximisation of adversarial training: L∞ sign-gradient ascent from a chosen start,
//   x⁰ = start(x),  x^{t+1} = clip_[0,1]( min(max(x^t + α·sign(∇ₓ ℓ(f(x^t))), x − ε), x + ε) ),
// the projection written as TRADES' and MART's official code write it.
//
// BatchNorm: the model runs in eval mode during the attack (running statistics, none updated), and
// back in its previous mode afterwards. We follow the official TRADES and MART code (model.eval()
// around the attack) and torchattacks/MAIR (which switch to eval inside every attack); Madry et
// al.'s and Wong et al.'s (Fast-AT) reference code attack in training mode instead (batch
// statistics). Eval mode makes an example's perturbation independent of the rest of its batch and
// keeps the adversarial batches out of the running statistics.
//
// Gradients are taken with autograd.grad with respect to the input only, so the attack never
// accumulates anything into the parameters' .grad.
import { autograd, enableGrad, noGrad, type Tensor, tidy } from '@robusta/torch';
import type { TrainableModel } from './types.js';
import { DefenseConfigError } from './types.js';
import type { AttackBudget } from './recipes.js';

/**
 * Where the ascent starts:
 * - 'uniform': x + U(−ε, ε), clipped to [0, 1] (Madry et al.; Fast-AT);
 * - 'gaussian': x + 0.001·N(0, 1), unclipped (TRADES, MART official code);
 * - 'clean': x itself;
 * - a function x ↦ x⁰ (deterministic starts for tests, or your own noise).
 */
export type StartPoint = 'uniform' | 'gaussian' | 'clean' | ((x: Tensor) => Tensor);

/** Runs fn with the model in eval mode and puts the previous mode back, whatever happens. */
export function withEvalMode<T>(model: TrainableModel, fn: () => T): T {
  return withMode(model, 'eval', fn);
}

/**
 * Where the inner attack runs: 'eval' (running statistics, none updated; robusta's default, as the
 * official TRADES and MART code) or 'train' (batch statistics, the running ones updated by every
 * attack forward pass, as Madry et al.'s and Wong et al.'s code).
 */
export type AttackMode = 'eval' | 'train';

/** Runs fn with the model in the given mode and puts the previous mode back, whatever happens. */
export function withMode<T>(model: TrainableModel, mode: AttackMode, fn: () => T): T {
  const wasTraining = model.training;
  model.train(mode === 'train');
  try {
    return fn();
  } finally {
    model.train(wasTraining);
  }
}

/** The starting point x⁰ (a new detached tensor). Random starts draw from torch's global generator. */
export function startingPoint(owner: string, x: Tensor, start: StartPoint, eps: number): Tensor {
  return noGrad(() => tidy(() => {
    if (typeof start === 'function') {
      const s = start(x);
      if (JSON.stringify(s.shape) !== JSON.stringify(x.shape)) {
        throw new DefenseConfigError(owner, `the start function returned shape [${s.shape.join(', ')}] for a batch [${x.shape.join(', ')}]`);
      }
      return s.detach().to({ dtype: x.dtype, copy: s === x });
    }
    switch (start) {
      case 'uniform': return x.add(x.clone().uniform_(-eps, eps)).clamp(0, 1);
      case 'gaussian': return x.add(x.clone().normal_(0, 1).mul(0.001));
      case 'clean': return x.clone();
      default: throw new DefenseConfigError(owner, `start must be 'uniform', 'gaussian', 'clean' or a function, got ${String(start)}`);
    }
  }));
}

/** Π: clip to the ε-ball around x (L∞), then to the image box [0, 1]. */
export function projectLinfBall(adv: Tensor, x: Tensor, eps: number): Tensor {
  return adv.clamp(x.sub(eps), x.add(eps)).clamp(0, 1);
}

/**
 * `budget.steps` steps of sign-gradient ascent on objective(f(x')) (a scalar) from `start`, with the
 * model as it is (callers wrap it in withEvalMode). Returns the detached adversarial batch; every
 * intermediate is freed as it goes.
 */
export function linfSignAscent(model: TrainableModel, x: Tensor, start: Tensor, budget: AttackBudget,
  objective: (logits: Tensor) => Tensor): Tensor {
  const xd = x.detach();
  let adv = start;
  for (let i = 0; i < budget.steps; i++) {
    const next = tidy(() => {
      const grad = enableGrad(() => {
        const xg = adv.detach().requiresGrad_(true);
        const value = objective(model.forward(xg));
        const [g] = autograd.grad(value, [xg], { allowUnused: true });
        return g;
      });
      return noGrad(() => {
        const stepped = grad ? adv.add(grad.sign().mul(budget.alpha)) : adv.clone();
        return projectLinfBall(stepped, xd, budget.eps);
      });
    });
    if (adv !== start) adv.dispose();
    adv = next;
  }
  if (adv === start) adv = noGrad(() => start.clamp(0, 1)); // zero steps: the start, inside the box
  xd.dispose();
  return adv;
}
