// Per-channel statistics of the usual datasets, for a model's Normalize first layer. Models take
// [0, 1] pixels; with a normalisation they standardise internally, as RobustBench models do.
import { Normalize } from '../nn/layers/normalize.js';
import {
  CIFAR100_MEAN, CIFAR100_STD, CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD, MNIST_MEAN, MNIST_STD,
} from '../data/transforms.js';

export interface ChannelStats {
  mean: number[];
  std: number[];
}

/** The statistics of the usual datasets: one source, robusta/data's constants. */
export const DATASET_STATS = {
  mnist: { mean: [...MNIST_MEAN], std: [...MNIST_STD] },
  cifar10: { mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD] },
  cifar100: { mean: [...CIFAR100_MEAN], std: [...CIFAR100_STD] },
  imagenet: { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] },
} as const satisfies Record<string, ChannelStats>;

export type DatasetName = keyof typeof DATASET_STATS;

/** A dataset's name or explicit statistics; absent means the model sees its input unchanged. */
export type NormalizationSpec = DatasetName | ChannelStats;

/** The Normalize layer for a spec (null without one), checking its channel count. */
export function normalizeLayer(spec: NormalizationSpec | undefined, channels: number): Normalize | null {
  if (spec === undefined) return null;
  const stats: ChannelStats | undefined = typeof spec === 'string' ? DATASET_STATS[spec] : spec;
  if (stats === undefined) throw new TypeError(`unknown normalization '${String(spec)}' (known: ${Object.keys(DATASET_STATS).join(', ')})`);
  if (stats.mean.length !== channels) {
    throw new RangeError(`normalization has ${stats.mean.length} channels, the model takes ${channels}`);
  }
  return new Normalize([...stats.mean], [...stats.std]);
}
