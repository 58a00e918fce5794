// The attack objective on a randomized-smoothing classifier, shared by PGDRS and PGDRSL2 — Salman, Yang,
// Zhang, Hsieh, Zhang, Razenshteyn & Bubeck, "Provably Robust Deep Learning via Adversarially Trained
// Smoothed Classifiers", NeurIPS 2019 (the SmoothAdv attack).
import * as torch from '@robusta/torch';
import { F, type Tensor } from '@robusta/torch';
import { pick } from './losses.js';
import { checkNumber } from './params.js';

/** 'guassian' is torchattacks' spelling, accepted so calls translate one to one. */
export type SmoothingNoise = 'gaussian' | 'guassian' | 'uniform';

export interface SmoothingOptions {
  /** Noise of the smoothed classifier: N(0, σ²) or U(−σ, σ). Default 'gaussian'. */
  noiseType?: SmoothingNoise;
  /** σ: the normal's standard deviation, or the uniform's half-width. Default 0.5. */
  noiseSd?: number;
  /** Noise draws per example and step (m in the paper). Default 5. */
  noiseBatchSize?: number;
  /** Most noisy images per forward pass: the batch is attacked in chunks of ⌊batchMax/noiseBatchSize⌋ examples. Default 2048. */
  batchMax?: number;
}

export interface SmoothingSettings {
  noiseType: 'gaussian' | 'uniform';
  noiseSd: number;
  noiseBatchSize: number;
  batchMax: number;
}

export function smoothingSettings(owner: string, o: SmoothingOptions): SmoothingSettings {
  const type = o.noiseType ?? 'gaussian';
  if (type !== 'gaussian' && type !== 'guassian' && type !== 'uniform') {
    throw new RangeError(`${owner}: noiseType must be 'gaussian' or 'uniform', got '${String(type)}'`);
  }
  const noiseBatchSize = checkNumber(owner, 'noiseBatchSize', o.noiseBatchSize ?? 5, { min: 1, integer: true });
  return {
    noiseType: type === 'uniform' ? 'uniform' : 'gaussian',
    noiseSd: checkNumber(owner, 'noiseSd', o.noiseSd ?? 0.5, { min: 0 }),
    noiseBatchSize,
    batchMax: checkNumber(owner, 'batchMax', o.batchMax ?? 2048, { min: noiseBatchSize, integer: true }),
  };
}

/**
 * The per-example objective of the smoothed classifier g(x) = E_η softmax(f(x + η)) at x + δ, by m draws:
 *   L(δ) = −log max(1/m Σ_j softmax(f(clip_[0,1](x + δ) + η_j))_y, 1e-20)        (untargeted, ascended)
 * and +log(…)_t targeted. The noise is drawn once for the N·m copies (one call, shape [N·m, ...]).
 */
export function smoothedObjective(forward: (x: Tensor) => Tensor, images: Tensor, delta: Tensor, s: SmoothingSettings,
  labels: Tensor, targets: Tensor | null): Tensor {
  const n = images.shape[0]!;
  const m = s.noiseBatchSize;
  const rest = images.shape.slice(1);
  const copies = images.unsqueeze(1).expand([n, m, ...rest]).reshape([n * m, ...rest]);
  const shifted = copies.add(delta.unsqueeze(1).repeat([1, m, ...rest.map(() => 1)]).reshape([n * m, ...rest])).clamp(0, 1);
  const noise = s.noiseType === 'gaussian'
    ? torch.randnLike(shifted).mul(s.noiseSd)
    : torch.randLike(shifted).sub(0.5).mul(2).mul(s.noiseSd);
  const logits = forward(shifted.add(noise));
  const average = F.softmax(logits, 1).reshape([n, m, logits.shape[1]!]).mean(1);
  const logProbs = average.clampMin(1e-20).log();
  return targets ? pick(logProbs, targets) : pick(logProbs, labels).neg();
}

/** Runs `attack` on chunks of at most ⌊batchMax/m⌋ examples, one after the other (the draws of chunk 1 come first). */
export function inChunks(images: Tensor, labels: Tensor, targets: Tensor | null, s: SmoothingSettings,
  attack: (images: Tensor, labels: Tensor, targets: Tensor | null) => Tensor): Tensor {
  const n = images.shape[0]!;
  if (n * s.noiseBatchSize <= s.batchMax) return attack(images, labels, targets);
  const chunk = Math.floor(s.batchMax / s.noiseBatchSize);
  const parts: Tensor[] = [];
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    parts.push(attack(images.narrow(0, start, len), labels.narrow(0, start, len), targets ? targets.narrow(0, start, len) : null));
  }
  return torch.cat(parts);
}
