// Fast-AT (FGSM-RS) — Wong, Rice & Kolter, "Fast is Better than Free: Revisiting Adversarial
// Training", ICLR 2020. AT whose inner maximisation is one FGSM step from a uniform random start,
// with step α = 1.25·ε:
//   δ ~ U(−ε, ε)^d,  x' = Π_{B∞(x,ε)∩[0,1]}(x + δ + α·sign ∇ₓ CE(f(x + δ), y)),  L = CE(f(x'), y).
// (The paper pairs it with a cyclic learning rate and few epochs; pass that schedule to the trainer.)
// Wong et al.'s code attacks in training mode; by default we use eval mode like every defense here
// (inner-attack.ts), attackMode: 'train' gives theirs.
import { DEFAULT_BUDGET } from './recipes.js';
import { AT } from './at.js';
import type { AttackMode, StartPoint } from './inner-attack.js';

export interface FastATOptions {
  /** Default 8/255. */
  eps?: number;
  /** Default 1.25·eps. */
  alpha?: number;
  /** Default 'uniform'. */
  start?: StartPoint;
  /** 'eval' (default) or 'train' (Wong et al.'s code): the model's mode during the FGSM step. */
  attackMode?: AttackMode;
}

export class FastAT extends AT {
  constructor(o: FastATOptions = {}) {
    const eps = o.eps ?? DEFAULT_BUDGET.eps;
    super({ eps, alpha: o.alpha ?? 1.25 * eps, steps: 1, start: o.start ?? 'uniform', attackMode: o.attackMode }, 'Fast-AT');
  }
}
