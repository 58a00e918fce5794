// SPSA — Uesato, O'Donoghue, van den Oord & Kohli, "Adversarial Risk and the Dangers of Evaluating
// Against Weak Attacks", ICML 2018 (Algorithm 1), with Spall's simultaneous perturbation stochastic
// approximation of the gradient (Spall 1992) and Adam (Kingma & Ba 2015) as the update.
import * as torch from '@robusta/torch';
import { noGrad, type Tensor, zerosLike } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions, type PerturbOutput } from './attack.js';
import type { Classifier } from './classifier.js';
import { margin } from './losses.js';
import { perExample } from './lp.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface SPSAOptions extends AttackOptions {
  /** L∞ budget. Default 0.3 (torchattacks' constructor default). */
  eps?: number;
  /** δ: the finite-difference step of the gradient estimate. Default 0.01. */
  delta?: number;
  /** Adam learning rate. Default 0.01. */
  lr?: number;
  /** Iterations (Adam steps). Default 1. */
  nbIter?: number;
  /** Random directions per gradient estimate. Default 128. */
  nbSample?: number;
  /** Directions evaluated in one model call (each is a forward on the whole batch, twice). Default 64. */
  maxBatchSize?: number;
}

/** torch.optim.Adam's defaults. */
const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPS = 1e-8;

/**
 * Gradient-free L∞ attack on the margin loss ℓ(x) = z_y(x) − max_{j≠y} z_j(x) (targeted:
 * max_{j≠t} z_j(x) − z_t(x)), minimised by Adam on δ with the SPSA estimate
 *   ĝ = (1/n) Σ_{i=1..n} [ℓ(x + δ·vᵢ) − ℓ(x − δ·vᵢ)] / (2δ) · vᵢ⁻¹,   vᵢ ∈ {−1, +1}^d Rademacher,
 * and after each step the projection δ ← clip_[0,1](x + clip(δ, −ε, ε)) − x.
 * As advertorch and torchattacks, one direction vᵢ is shared by every example of the batch (each
 * example's estimate is still its own: the losses are per example). Costs 2·nbSample queries per
 * example per iteration; `queries` reports them.
 */
export class SPSA extends Attack {
  readonly eps: number;
  readonly delta: number;
  readonly lr: number;
  readonly nbIter: number;
  readonly nbSample: number;
  readonly maxBatchSize: number;

  constructor(model: Classifier, options: SPSAOptions = {}) {
    super('SPSA', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 0.3);
    this.delta = checkNumber(this.name, 'delta', options.delta ?? 0.01, { min: 0, exclusiveMin: true });
    this.lr = checkNumber(this.name, 'lr', options.lr ?? 0.01, { min: 0, exclusiveMin: true });
    this.nbIter = checkSteps(this.name, 'nbIter', options.nbIter ?? 1);
    this.nbSample = checkSteps(this.name, 'nbSample', options.nbSample ?? 128);
    this.maxBatchSize = checkSteps(this.name, 'maxBatchSize', options.maxBatchSize ?? 64);
  }

  protected perturb({ images, labels, targets }: AttackInput): PerturbOutput {
    let s = { dx: zerosLike(images), m: zerosLike(images), v: zerosLike(images) };
    for (let t = 1; t <= this.nbIter; t++) {
      s = advance(s, () => {
        const g = this.estimateGradient(images.add(s.dx), labels, targets);
        // torch.optim.Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², δ ← δ − (lr/bc₁)·m/(√v/√bc₂ + ε)
        const m = s.m.mul(BETA1).add(g.mul(1 - BETA1));
        const v = s.v.mul(BETA2).add(g.mul(g).mul(1 - BETA2));
        const denom = v.sqrt().div(Math.sqrt(1 - BETA2 ** t)).add(ADAM_EPS);
        const stepped = s.dx.sub(m.div(denom).mul(this.lr / (1 - BETA1 ** t)));
        const dx = images.add(stepped.clamp(-this.eps, this.eps)).clamp(0, 1).sub(images);
        return { dx, m, v };
      });
    }
    const n = images.shape[0]!;
    const queries = torch.full([n], 2 * this.nbSample * this.nbIter, { dtype: 'int64', device: images.device });
    return { adv: images.add(s.dx).clamp(0, 1), queries };
  }

  /** The loss Adam minimises, per example. */
  private loss(logits: Tensor, labels: Tensor, targets: Tensor | null): Tensor {
    return targets ? margin(logits, targets).neg() : margin(logits, labels);
  }

  /** ĝ at x (shape of x), from nbSample Rademacher directions drawn in chunks of maxBatchSize. */
  private estimateGradient(x: Tensor, labels: Tensor, targets: Tensor | null): Tensor {
    return noGrad(() => {
      const [n, ...rest] = x.shape as number[];
      let sum = zerosLike(x);
      for (let done = 0; done < this.nbSample; done += this.maxBatchSize) {
        const k = Math.min(this.maxBatchSize, this.nbSample - done);
        sum = advance(sum, () => {
          // [k, 1, ...]: one direction per sample, broadcast over the n examples.
          const v = torch.empty([k, 1, ...rest], { device: x.device, dtype: x.dtype }).bernoulli_(0.5).mul(2).sub(1);
          const xs = x.unsqueeze(0).expand([k, n, ...rest]);
          const vs = v.expand([k, n, ...rest]);
          const flat = [k * n, ...rest];
          const cls = labels.unsqueeze(0).expand([k, n]).reshape([k * n]);
          const tgt = targets ? targets.unsqueeze(0).expand([k, n]).reshape([k * n]) : null;
          const plus = this.loss(this.forward(xs.add(vs.mul(this.delta)).reshape(flat)), cls, tgt);
          const minus = this.loss(this.forward(xs.sub(vs.mul(this.delta)).reshape(flat)), cls, tgt);
          const df = plus.sub(minus);
          const g = perExample(df, xs.reshape(flat)).div(vs.reshape(flat).mul(2 * this.delta));
          return sum.add(g.reshape([k, n, ...rest]).sum(0));
        });
      }
      return sum.div(this.nbSample);
    });
  }
}
