// Ready-made batch transforms for the DataLoader.
import type { Batch } from './dataset.js';
import type { BatchTransform } from './loader.js';
import { normalize, randomCrop, randomHorizontalFlip } from './transforms.js';

export interface CropFlipOptions {
  /** Output size (default: the input's). */
  size?: number;
  /** Zero padding before the crop (default 4). */
  padding?: number;
  /** Flip probability (default 0.5). */
  flipProbability?: number;
}

/**
 * The standard CIFAR training augmentation, RandomCrop(32, padding=4) + RandomHorizontalFlip(0.5),
 * on float batches [N, C, H, W], random per (seed, epoch, batch) through the loader's context.
 */
export function cropFlipAugmentation(options: CropFlipOptions = {}): BatchTransform {
  const padding = options.padding ?? 4;
  const p = options.flipProbability ?? 0.5;
  return (batch: Batch, { rng }) => {
    const [, , h, w] = batch.x.shape as [number, number, number, number];
    const size: [number, number] = options.size !== undefined ? [options.size, options.size] : [h, w];
    const cropped = randomCrop(batch.x, size, padding, { rng });
    return { x: randomHorizontalFlip(cropped, p, { rng }), y: batch.y };
  };
}

/** A batch transform that normalises x per channel (for models trained on normalised inputs). */
export function normalizeTransform(mean: readonly number[], std: readonly number[]): BatchTransform {
  return (batch) => ({ x: normalize(batch.x, mean, std), y: batch.y });
}
