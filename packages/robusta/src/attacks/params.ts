// Validation of attack hyper-parameters: a bad value is a RangeError naming the attack and the parameter.

export interface NumberRule {
  /** Smallest allowed value (inclusive unless exclusiveMin). */
  min?: number;
  exclusiveMin?: boolean;
  max?: number;
  integer?: boolean;
}

/** Returns v when it is a finite number obeying the rule; throws RangeError otherwise (NaN included). */
export function checkNumber(owner: string, name: string, v: number, rule: NumberRule = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`${owner}: ${name} must be a finite number, got ${String(v)}`);
  }
  if (rule.integer && !Number.isInteger(v)) throw new RangeError(`${owner}: ${name} must be an integer, got ${v}`);
  if (rule.min !== undefined) {
    if (rule.exclusiveMin ? !(v > rule.min) : !(v >= rule.min)) {
      throw new RangeError(`${owner}: ${name} must be ${rule.exclusiveMin ? '>' : '>='} ${rule.min}, got ${v}`);
    }
  }
  if (rule.max !== undefined && !(v <= rule.max)) throw new RangeError(`${owner}: ${name} must be <= ${rule.max}, got ${v}`);
  return v;
}

/** eps >= 0 */
export const checkEps = (owner: string, eps: number): number => checkNumber(owner, 'eps', eps, { min: 0 });
/** An iteration count >= 1. */
export const checkSteps = (owner: string, name: string, steps: number): number =>
  checkNumber(owner, name, steps, { min: 1, integer: true });

export type Norm = 'Linf' | 'L2';
export function checkNorm(owner: string, norm: string): Norm {
  if (norm !== 'Linf' && norm !== 'L2') throw new RangeError(`${owner}: norm must be 'Linf' or 'L2', got '${norm}'`);
  return norm;
}
