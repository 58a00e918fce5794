// The published training recipes the defenses default to (all overridable).
//   CIFAR-10 (Madry et al. 2018; Rice et al. 2020; TRADES, MART and AWP use the same budget):
//     SGD lr 0.1, momentum 0.9, weight decay 5e-4; L∞ PGD-10 with ε = 8/255, α = 2/255.
//   MNIST (Madry et al. 2018): L∞ ε = 0.3, PGD-40 with α = 0.01; SGD lr 0.01, momentum 0.9 (TRADES' MNIST set-up).

/** An L∞ inner maximisation budget: radius, step size, iterations. */
export interface AttackBudget {
  eps: number;
  alpha: number;
  steps: number;
}

export interface OptimizerRecipe {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface TrainingRecipe {
  attack: AttackBudget;
  optimizer: OptimizerRecipe;
}

export const CIFAR10_RECIPE: Readonly<TrainingRecipe> = Object.freeze({
  attack: Object.freeze({ eps: 8 / 255, alpha: 2 / 255, steps: 10 }),
  optimizer: Object.freeze({ lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
});

export const MNIST_RECIPE: Readonly<TrainingRecipe> = Object.freeze({
  attack: Object.freeze({ eps: 0.3, alpha: 0.01, steps: 40 }),
  optimizer: Object.freeze({ lr: 0.01, momentum: 0.9, weightDecay: 0 }),
});

/** The defenses' default budget: CIFAR-10's. */
export const DEFAULT_BUDGET: Readonly<AttackBudget> = CIFAR10_RECIPE.attack;
