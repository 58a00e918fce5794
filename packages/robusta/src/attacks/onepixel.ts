// One Pixel Attack — Su, Vargas & Sakurai, "One Pixel Attack for Fooling Deep Neural Networks", IEEE
// Transactions on Evolutionary Computation 2019: a black-box L0 attack that searches, by differential
// evolution, the positions and colours of a few pixels.
import * as torch from '@robusta/torch';
import { noGrad, type Tensor, tidy } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions, type PerturbOutput } from './attack.js';
import type { Classifier } from './classifier.js';
import { differentialEvolution } from './differential-evolution.js';
import { checkSteps } from './params.js';

export interface OnePixelOptions extends AttackOptions {
  /** Pixels changed. Default 1. */
  pixels?: number;
  /** Generations of differential evolution. Default 10. */
  steps?: number;
  /**
   * Population size factor: the population has max(1, ⌊popsize / D⌋)·D members, D = pixels·(2 + C)
   * the parameters (row, column and C channel values per pixel), as torchattacks passes SciPy. Default 10.
   */
  popsize?: number;
  /** Candidate images per model call. Default 128. */
  infBatch?: number;
}

/**
 * Each candidate is `pixels` × (row, column, value per channel), row ∈ [0, H), column ∈ [0, W),
 * values ∈ [0, 1]; the candidate image is x with those pixels set. Differential evolution (best1bin,
 * F ~ U[0.5, 1), CR = 1: torchattacks' settings of SciPy's solver) minimises the softmax
 * probability of the label p_y(x') (targeted: 1 − p_t(x')) and stops once its best candidate fools
 * the model. Every example gets its own population; all populations are evaluated in the same model
 * calls. `queries` counts the candidate images evaluated per example.
 */
export class OnePixel extends Attack {
  readonly pixels: number;
  readonly steps: number;
  readonly popsize: number;
  readonly infBatch: number;

  constructor(model: Classifier, options: OnePixelOptions = {}) {
    super('OnePixel', model, options, { targeted: true });
    this.pixels = checkSteps(this.name, 'pixels', options.pixels ?? 1);
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.popsize = checkSteps(this.name, 'popsize', options.popsize ?? 10);
    this.infBatch = checkSteps(this.name, 'infBatch', options.infBatch ?? 128);
  }

  protected perturb({ images, labels, targets }: AttackInput): PerturbOutput {
    if (images.ndim !== 4) throw new RangeError(`OnePixel: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
    const [n, c] = images.shape as [number, number, number, number];
    const dims = this.pixels * (2 + c);
    const members = Math.max(1, Math.floor(this.popsize / dims)) * dims;
    const cls = targets ?? labels;
    const result = differentialEvolution({
      problems: n, dims, members, generations: this.steps, device: images.device,
      evaluate: (candidates, ids) => noGrad(() => {
        const [m, p] = candidates.shape as [number, number, number];
        const x = this.apply(images.indexSelect(0, ids), candidates);                 // [m·p, C, H, W]
        const probs = this.logitsInBatches(x).softmax(1);
        const y = cls.indexSelect(0, ids).unsqueeze(1).expand([m, p]).reshape([m * p, 1]);
        const py = probs.gather(1, y).squeeze(1);
        const pred = probs.argmax(1);
        const energy = this.targeted ? py.neg().add(1) : py;
        const solved = this.targeted ? pred.eq(y.squeeze(1)) : pred.ne(y.squeeze(1));
        return { energy: energy.reshape([m, p]), solved: solved.reshape([m, p]) };
      }),
    });
    const adv = tidy(() => this.apply(images, result.best.unsqueeze(1)));
    result.best.dispose();
    result.energy.dispose();
    return { adv, queries: result.evaluations };
  }

  /** Images [m, C, H, W] with the pixels of candidates [m, p, D] set: [m·p, C, H, W]. */
  private apply(images: Tensor, candidates: Tensor): Tensor {
    const [m, c, h, w] = images.shape as [number, number, number, number];
    const p = candidates.shape[1]!;
    const k = this.pixels;
    const genes = candidates.reshape([m * p, k, 2 + c]);
    // Positions: ⌊u·H⌋ (u = 1 exactly would be H: kept on the last row).
    const row = genes.select(2, 0).mul(h).floor().clampMax(h - 1).to({ dtype: 'int64' });
    const col = genes.select(2, 1).mul(w).floor().clampMax(w - 1).to({ dtype: 'int64' });
    const flatIndex = row.mul(w).add(col).unsqueeze(1).expand([m * p, c, k]);        // [m·p, C, k]
    const values = genes.narrow(2, 2, c).transpose(1, 2);                             // [m·p, C, k]
    const base = images.unsqueeze(1).expand([m, p, c, h, w]).reshape([m * p, c, h * w]);
    return base.scatter(2, flatIndex, values.to({ dtype: images.dtype })).reshape([m * p, c, h, w]);
  }

  private logitsInBatches(x: Tensor): Tensor {
    const total = x.shape[0]!;
    if (total <= this.infBatch) return this.forward(x);
    const parts: Tensor[] = [];
    for (let s = 0; s < total; s += this.infBatch) parts.push(this.forward(x.narrow(0, s, Math.min(this.infBatch, total - s))));
    return torch.cat(parts, 0);
  }
}
