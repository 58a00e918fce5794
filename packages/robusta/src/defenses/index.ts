// robusta/defenses: adversarial training objectives (MAIR-style: each a loss the trainer minimises).
export {
  type TrainableModel, type DefenseContext, type DefenseOutput, type DefenseLoss, type AdversarialDefense, DefenseConfigError,
} from './types.js';
export { CIFAR10_RECIPE, MNIST_RECIPE, DEFAULT_BUDGET, type AttackBudget, type OptimizerRecipe, type TrainingRecipe } from './recipes.js';
export { type StartPoint, type AttackMode, withEvalMode, withMode, startingPoint, projectLinfBall, linfSignAscent } from './inner-attack.js';
export { Standard } from './standard.js';
export { AT, type ATOptions } from './at.js';
export { FastAT, type FastATOptions } from './fast-at.js';
export { TRADES, type TRADESOptions, klSum } from './trades.js';
export { MART, type MARTOptions } from './mart.js';
export { AWP, type AWPOptions, type WeightPerturbation, defaultAwpSelection } from './awp.js';
