// JSMA — Papernot, McDaniel, Jha, Fredrikson, Celik & Swami, "The Limitations of Deep Learning in
// Adversarial Settings", IEEE EuroS&P 2016 (Algorithm 3 with the pairwise saliency map of eq. 10).
import * as torch from '@robusta/torch';
import { autograd, enableGrad, noGrad, type Tensor, tidy } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { checkNumber } from './params.js';

export interface JSMAOptions extends AttackOptions {
  /** θ: the change made to each chosen feature (> 0 increases features, < 0 decreases them). Default 1.0. */
  theta?: number;
  /** γ: the largest fraction of the features that may be changed. Default 0.1. */
  gamma?: number;
}

/**
 * Jacobian-based saliency map attack towards a target class t: at each iteration, with the forward
 * derivatives α_p = ∂Z_t/∂x_p and β_p = Σ_{j≠t} ∂Z_j/∂x_p, pick the pair of features (p, q) of the
 * search domain (features not yet changed and not saturated: x < 0.99 when increasing, x > 0.01 when
 * decreasing) that maximises
 *   (α_p + α_q)·|β_p + β_q|   subject to  α_p + α_q > 0 and β_p + β_q < 0   (θ < 0: α < 0, β > 0),
 * add θ to both, clip to [0, 1] and remove them from the domain; stop when the model predicts t, after
 * ⌈γ·d/2⌉ iterations, when the domain is empty or when no pair satisfies the conditions. The
 * untargeted mode aims at t = (y + 1) mod C, as torchattacks (which hard-codes C = 10).
 * Z are the logits; β comes from one backward pass of Σ_j Z_j (minus α), not from the full Jacobian.
 */
export class JSMA extends Attack {
  readonly theta: number;
  readonly gamma: number;

  constructor(model: Classifier, options: JSMAOptions = {}) {
    super('JSMA', model, options, { targeted: true });
    this.theta = checkNumber(this.name, 'theta', options.theta ?? 1.0);
    if (this.theta === 0) throw new RangeError('JSMA: theta must not be 0');
    this.gamma = checkNumber(this.name, 'gamma', options.gamma ?? 0.1, { min: 0, exclusiveMin: true, max: 1 });
  }

  protected perturb({ images, labels, targets, numClasses }: AttackInput): Tensor {
    const n = images.shape[0]!;
    const d = images.numel() / n;
    const increasing = this.theta > 0;
    const target = targets ?? labels.add(1).remainder(numClasses);
    const adv = images.flatten(1).clone();
    const domain = increasing ? adv.lt(0.99) : adv.gt(0.01);
    const maxIterations = Math.ceil((d * this.gamma) / 2);
    const active = torch.ones([n], { dtype: 'bool', device: images.device });
    const shape = images.shape;
    for (let it = 0; it < maxIterations; it++) {
      const ids = tidy(() => {
        const pred = noGrad(() => this.forward(adv.reshape(shape)).argmax(1));
        active.copy_(active.logicalAnd(pred.ne(target)).logicalAnd(domain.any(1)));
        return active.nonzero().flatten().toFlatArray();
      });
      if (ids.length === 0) break;
      tidy(() => {
        const idx = torch.tensor(BigInt64Array.from(ids.map(BigInt)), { device: images.device });
        const x = adv.indexSelect(0, idx);
        const t = target.indexSelect(0, idx);
        const { alpha, beta } = this.derivatives(x.reshape([ids.length, ...shape.slice(1)]), t);
        for (let b = 0; b < ids.length; b++) {
          const i = ids[b]!;
          const pair = bestPair(alpha.select(0, b), beta.select(0, b), domain.select(0, i), increasing);
          if (pair === null) {
            active.select(0, i).fill_(false);
            continue;
          }
          const row = adv.select(0, i);
          const pq = torch.tensor(BigInt64Array.from([BigInt(pair[0]), BigInt(pair[1])]), { device: images.device });
          row.indexPut_([pq], row.indexSelect(0, pq).add(this.theta).clamp(0, 1));
          domain.select(0, i).indexPut_([pq], torch.zeros([2], { dtype: 'bool', device: images.device }));
        }
      });
    }
    active.dispose();
    domain.dispose();
    return adv.reshape(shape);
  }

  /** α = ∂Z_t/∂x and β = ∂(Σ_j Z_j)/∂x − α, flattened [B, d]. */
  private derivatives(x: Tensor, t: Tensor): { alpha: Tensor; beta: Tensor } {
    return enableGrad(() => {
      const xg = x.detach().requiresGrad_(true);
      const z = this.forward(xg);
      const [gt] = autograd.grad(z.gather(1, t.unsqueeze(1)).sum(), [xg], { retainGraph: true });
      const [gall] = autograd.grad(z.sum(), [xg]);
      const alpha = gt!.flatten(1);
      return { alpha, beta: gall!.flatten(1).sub(alpha) };
    });
  }
}

/**
 * The admissible pair (p < q) of largest saliency (α_p + α_q)·|β_p + β_q| over features in the
 * domain, or null when none is admissible. The first maximum in row-major order wins, as argmax.
 */
function bestPair(alpha: Tensor, beta: Tensor, domain: Tensor, increasing: boolean): [number, number] | null {
  return tidy(() => {
    const d = alpha.shape[0]!;
    const a = alpha.unsqueeze(0).add(alpha.unsqueeze(1));
    const b = beta.unsqueeze(0).add(beta.unsqueeze(1));
    const inDomain = domain.unsqueeze(0).logicalAnd(domain.unsqueeze(1));
    const offDiagonal = torch.eye(d, d, { dtype: 'bool', device: alpha.device }).logicalNot();
    const signs = increasing ? a.gt(0).logicalAnd(b.lt(0)) : a.lt(0).logicalAnd(b.gt(0));
    const admissible = signs.logicalAnd(inDomain).logicalAnd(offDiagonal);
    const saliency = a.mul(b.abs()).maskedFill(admissible.logicalNot(), 0);
    // θ < 0: α < 0 so the saliency α·|β| is negative; the best pair is the most negative one.
    const score = increasing ? saliency : saliency.neg();
    const best = score.flatten().argmax().item();
    if (!(score.flatten().max().item() > 0)) return null;
    return [Math.floor(best / d), best % d];
  });
}

