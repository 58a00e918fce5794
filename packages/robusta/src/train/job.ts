// A training job as plain data (what `robusta train` flags and a study's grid cell say) and the run
// that carries it out: the dataset, a zoo model initialised from the job's seed, the defense and its
// recipe, SGD and a schedule, and the Trainer. The seed covers everything that is random — the model's
// initialisation, the data order and augmentation, the inner attacks' random starts — so the same job
// on the same machine and thread count ends with the same weights, bit for bit, whether or not it was
// killed and resumed on the way.
import { join } from 'node:path';
import * as torch from '@robusta/torch';
import type { Device } from '@robusta/torch';
import { DataLoader } from '../data/loader.js';
import { cropFlipAugmentation } from '../data/augment.js';
import { createModel, isModelName, MODEL_NAMES } from '../models/registry.js';
import type { Module } from '../nn/module.js';
import { SGD } from '../optim/sgd.js';
import { type DatasetName, loadSplit, makeDefense, makeSchedule, normalizationOf, recipeOf } from './catalog.js';
import type { EpochMetrics } from './metrics-log.js';
import type { ProgressMode, ProgressStream } from './progress.js';
import { Trainer, type TrainSummary } from './trainer.js';

export interface TrainJob {
  model: string;
  dataset: DatasetName;
  defense: string;
  epochs: number;
  /** Folder of init.pt, metrics.jsonl, last.pt and best.pt. */
  out: string;
  batchSize?: number;
  /** Train on the first nTrain examples only. */
  nTrain?: number;
  eps?: number;
  alpha?: number;
  steps?: number;
  beta?: number;
  awp?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  schedule?: string;
  augment?: boolean;
  /** Test examples of the per-epoch clean/PGD evaluation (default 1000). */
  evalN?: number;
  evalEps?: number;
  /** Seeds initialisation, data order, augmentation and attack starts (default 0). */
  seed?: number;
  /** Where to train (default 'cpu'; 'cuda' needs a CUDA libtorch). Initialisation happens on the CPU, so it does not depend on the device. */
  device?: Device;
}

export interface TrainJobHooks {
  progress?: ProgressMode;
  progressStream?: ProgressStream;
  onEpoch?: (m: EpochMetrics) => void;
  onBatch?: (info: { epoch: number; batch: number; batches: number; loss: number }) => void;
}

export interface TrainJobResult {
  /** The trained network (last epoch's weights); the caller disposes it. */
  net: Module;
  summary: TrainSummary;
  /** The weights at initialisation (torch.save file). */
  initCheckpoint: string;
}

/** The model of a job, initialised from the job's seed (the same seed gives the same weights). */
export function createJobModel(job: Pick<TrainJob, 'model' | 'dataset' | 'seed'>, numClasses: number): Module {
  if (!isModelName(job.model)) throw new TypeError(`unknown model '${job.model}' (known: ${MODEL_NAMES.join(', ')})`);
  torch.manualSeed(job.seed ?? 0);
  return createModel(job.model, { normalize: normalizationOf(job.dataset), numClasses });
}

/** Trains (or resumes) a job; returns the trained model and the summary. */
export async function runTrainJob(job: TrainJob, hooks: TrainJobHooks = {}): Promise<TrainJobResult> {
  const recipe = recipeOf(job.dataset);
  const budget = { eps: job.eps ?? recipe.attack.eps, alpha: job.alpha ?? recipe.attack.alpha, steps: job.steps ?? recipe.attack.steps };
  const defense = makeDefense(job.defense, { budget, beta: job.beta, awp: job.awp });
  const trainSet = await loadSplit(job.dataset, 'train');
  const testSet = await loadSplit(job.dataset, 'test');
  try {
    const net = createJobModel(job, trainSet.classes.length);
    if (job.device && job.device !== 'cpu') net.to(job.device);
    const size = trainSet.images.shape[2]!;
    const seed = job.seed ?? 0;
    const loader = new DataLoader(trainSet, {
      batchSize: job.batchSize ?? 128, shuffle: true, seed, subset: job.nTrain,
      transform: job.augment ? cropFlipAugmentation({ size, padding: 4 }) : undefined,
    });
    const lr = job.lr ?? recipe.optimizer.lr;
    const optimizer = new SGD(net.parameters(), {
      lr, momentum: job.momentum ?? recipe.optimizer.momentum, weightDecay: job.weightDecay ?? recipe.optimizer.weightDecay,
    });
    const { schedule, interval } = makeSchedule(job.schedule ?? 'none', optimizer, job.epochs, loader.length, lr);
    const trainer = new Trainer({
      model: net, optimizer, defense, train: loader, epochs: job.epochs, outDir: job.out, schedule, scheduleInterval: interval,
      test: testSet, evaluation: { n: job.evalN ?? 1000, eps: job.evalEps ?? budget.eps }, seed, device: job.device,
      progress: hooks.progress, progressStream: hooks.progressStream, onEpoch: hooks.onEpoch, onBatch: hooks.onBatch,
    });
    const summary = await trainer.fit();
    return { net, summary, initCheckpoint: join(job.out, 'init.pt') };
  } finally {
    trainSet.dispose();
    testSet.dispose();
  }
}
