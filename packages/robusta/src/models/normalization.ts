// Per-channel statistics of the usual datasets, for a model's Normalize first layer. Models take
// [0, 1] pixels; with a normalisation they standardise internally, as RobustBench models do.
import { Normalize } from '../nn/layers/normalize.js';

export interface ChannelStats {
  mean: number[];
  std: number[];
}

/** Commonly used statistics (CIFAR-10's std as in RobustBench/torchvision references: 0.2471, 0.2435, 0.2616). */
export const DATASET_STATS = {
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2471, 0.2435, 0.2616] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
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
