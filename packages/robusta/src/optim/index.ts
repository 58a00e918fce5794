// torch.optim for robusta: optimizers with PyTorch 1.13's exact updates, and learning-rate schedules.
export { Optimizer, type ParamGroup, type ParamGroupSpec, type ParamState, type OptimizerStateDict, type BaseOptimizerOptions } from './optimizer.js';
export { SGD, type SGDOptions, type SGDHyper } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamHyper } from './adam.js';
export {
  LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR, linearWarmup,
  type SchedulableOptimizer, type SchedulerState, type OneCycleOptions, type WarmupOptions,
} from './schedules.js';
