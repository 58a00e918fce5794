// Hyper-parameter checks shared by the defenses: a bad value is a DefenseConfigError naming both.
import { Tensor } from '@robusta/torch';
import { DEFAULT_BUDGET, type AttackBudget } from './recipes.js';
import { DefenseConfigError } from './types.js';

export function checkFinite(owner: string, name: string, v: number, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new DefenseConfigError(owner, `${name} must be a finite number >= ${min}, got ${String(v)}`);
  }
  return v;
}

export function checkCount(owner: string, name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new DefenseConfigError(owner, `${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

/** A batch the defenses accept: float images [N, ...] with N ≥ 1 and int64 labels [N]. */
export function checkBatch(owner: string, x: Tensor, y: Tensor): void {
  if (!(x instanceof Tensor) || !(y instanceof Tensor)) throw new TypeError(`${owner}: x and y must be Tensors`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new TypeError(`${owner}: x must be a float tensor, got ${x.dtype}`);
  if (y.dtype !== 'int64') throw new TypeError(`${owner}: y must hold int64 class indices, got ${y.dtype}`);
  const n = x.shape[0];
  if (x.ndim < 2 || n === 0 || y.ndim !== 1 || y.shape[0] !== n) {
    throw new RangeError(`${owner}: expected x [N, ...] and y [N] with N >= 1, got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
  }
}

/** An inner-attack budget from partial options, defaults filled in (CIFAR-10's) and every value checked. */
export function checkBudget(owner: string, o: Partial<AttackBudget>): AttackBudget {
  return {
    eps: checkFinite(owner, 'eps', o.eps ?? DEFAULT_BUDGET.eps),
    alpha: checkFinite(owner, 'alpha', o.alpha ?? DEFAULT_BUDGET.alpha),
    steps: checkCount(owner, 'steps', o.steps ?? DEFAULT_BUDGET.steps),
  };
}
