// FAB — Croce & Hein, "Minimally distorted adversarial examples with a fast adaptive boundary attack",
// ICML 2020 (L∞ and L2; FAB-T, its targeted version, as used in AutoAttack).
import * as torch from '@robusta/torch';
import { type Tensor, tidy, where } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import { projectPair } from './box-projection.js';
import type { Classifier } from './classifier.js';
import { inputGradient, logitsOf } from './gradient.js';
import { logitsJacobian } from './jacobian.js';
import { pick } from './losses.js';
import { flatNorm, normOf, perExample } from './lp.js';
import { checkEps, checkNorm, checkNumber, checkSteps, type Norm } from './params.js';
import { advance } from './state.js';

export interface FABOptions extends AttackOptions {
  norm?: Norm;
  /** Budget an adversarial point must respect to count. Default 8/255 (Linf) or 0.5 (L2). */
  eps?: number;
  /** Iterations per run. Default 10 (torchattacks; AutoAttack uses 100). */
  steps?: number;
  /** Runs per target; runs after the first start from a random point. Default 1. */
  nRestarts?: number;
  /** α_max, the largest pull towards the original point. Default 0.1. */
  alphaMax?: number;
  /** η, the overshoot of each projection. Default 1.05. */
  eta?: number;
  /** β, the backward step towards the original point after success. Default 0.9. */
  beta?: number;
  /** FAB-T: one targeted run per target class (the 2nd … most likely clean classes). Default false. */
  multiTargeted?: boolean;
  /** Targets tried by FAB-T. Default 9 (capped at C − 1). */
  nTargetClasses?: number;
}

/**
 * At x^i, linearise the decision boundary between the label y and the class s closest in the first
 * order, s = argmin_{l≠y} |f_l − f_y| / ||∇f_l − ∇f_y||_q (q dual to p); FAB-T and the targeted mode
 * use the one hyperplane of the target class. With proj_p the minimum-Lp step onto that hyperplane
 * inside [0, 1]^d (box-projection.ts):
 *   δ^i = proj_p(x^i),  δ_orig = proj_p(x_orig),  α = min(||δ^i|| / (||δ^i|| + ||δ_orig||), α_max),
 *   x^{i+1} = clip_[0,1]((1 − α)(x^i + η δ^i) + α(x_orig + η δ_orig)),
 * and when x^{i+1} is adversarial it is recorded if closest so far, then pulled back:
 *   x^{i+1} ← (1 − β) x_orig + β x^{i+1}.
 * An example counts as fooled only if the closest adversarial point is within eps; otherwise x is returned.
 * FAB minimises the distortion, so it keeps iterating on fooled examples (no early stop).
 */
export class FAB extends Attack {
  readonly norm: Norm;
  readonly eps: number;
  readonly steps: number;
  readonly nRestarts: number;
  readonly alphaMax: number;
  readonly eta: number;
  readonly beta: number;
  readonly multiTargeted: boolean;
  readonly nTargetClasses: number;

  constructor(model: Classifier, options: FABOptions = {}) {
    super(options.multiTargeted ? 'FAB-T' : 'FAB', model, options, { targeted: !options.multiTargeted }, 0);
    this.norm = checkNorm(this.name, options.norm ?? 'Linf');
    this.eps = checkEps(this.name, options.eps ?? (this.norm === 'Linf' ? 8 / 255 : 0.5));
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.nRestarts = checkSteps(this.name, 'nRestarts', options.nRestarts ?? 1);
    this.alphaMax = checkNumber(this.name, 'alphaMax', options.alphaMax ?? 0.1, { min: 0, max: 1 });
    this.eta = checkNumber(this.name, 'eta', options.eta ?? 1.05, { min: 0 });
    this.beta = checkNumber(this.name, 'beta', options.beta ?? 0.9, { min: 0, max: 1 });
    this.multiTargeted = options.multiTargeted ?? false;
    this.nTargetClasses = checkSteps(this.name, 'nTargetClasses', options.nTargetClasses ?? 9);
  }

  protected perturb({ images, labels, targets, cleanLogits, numClasses }: AttackInput): Tensor {
    const userTargeted = targets !== null;
    const isAdv = (pred: Tensor, y: Tensor, t: Tensor | null): Tensor => (userTargeted ? pred.eq(t!) : pred.ne(y));
    const adv = images.clone();
    const robust = isAdv(cleanLogits.argmax(1), labels, targets).logicalNot();
    const ranks = this.multiTargeted ? Array.from({ length: Math.min(this.nTargetClasses, numClasses - 1) }, (_, i) => i + 2) : [0];
    for (const rank of ranks) {
      for (let r = 0; r < this.nRestarts; r++) {
        tidy(() => {
          const ids = robust.nonzero().flatten();
          if (ids.shape[0] === 0) return;
          const t = rank > 0 ? cleanLogits.indexSelect(0, ids).argsort(1, true).select(1, rank - 1).contiguous()
            : targets ? targets.indexSelect(0, ids) : null;
          const y = labels.indexSelect(0, ids);
          const run = this.singleRun(images.indexSelect(0, ids), y, t, (pred) => isAdv(pred, y, userTargeted ? t : null), r > 0);
          const ok = run.distance.le(this.eps).nonzero().flatten();
          if (ok.shape[0] === 0) return;
          const okIds = ids.indexSelect(0, ok);
          adv.indexPut_([okIds], run.adv.indexSelect(0, ok));
          robust.indexPut_([okIds], torch.zeros([okIds.shape[0]!], { dtype: 'bool', device: robust.device }));
        });
      }
    }
    return adv;
  }

  /** One FAB run; `distance` is the norm of the closest adversarial point found (1e10 if none). */
  private singleRun(x: Tensor, y: Tensor, target: Tensor | null, isAdv: (pred: Tensor) => Tensor, randomStart: boolean):
    { adv: Tensor; distance: Tensor } {
    const n = x.shape[0]!;
    const xFlat = x.flatten(1);
    let s = { x1: randomStart ? this.randomStart(x) : x.clone(), best: torch.full([n], 1e10, { dtype: x.dtype, device: x.device }), adv: x.clone() };
    for (let i = 0; i < this.steps; i++) {
      s = advance(s, () => {
        const { df, dg } = target ? this.targetDifference(s.x1, y, target) : this.allDifferences(s.x1, y);
        // The closest linearised boundary in the dual norm (q = 1 for L∞, 2 for L2).
        const dual = this.norm === 'Linf' ? dg.abs().sum(2) : dg.norm(2, { dim: 2 });
        const closest = df.abs().div(dual.add(1e-12)).argmin(1, true);
        const f = df.gather(1, closest).squeeze(1);
        const w = dg.gather(1, closest.unsqueeze(2).expand(-1, 1, dg.shape[2]!)).squeeze(1);
        const x1Flat = s.x1.flatten(1);
        // Hyperplane {z : f + ⟨w, z − x1⟩ = 0}: a point p needs ⟨w, δ⟩ = ⟨w, x1 − p⟩ − f.
        const [d1, d0] = projectPair(x1Flat, xFlat, w, f.neg(), w.mul(x1Flat.sub(xFlat)).sum(1).sub(f), this.norm);
        const p = this.norm === 'Linf' ? Infinity : 2;
        const a1 = flatNorm(d1, p).clampMin(1e-8);
        const a0 = flatNorm(d0, p).clampMin(1e-8);
        const alpha = a1.div(a1.add(a0)).clamp(0, this.alphaMax).unsqueeze(1);
        const next = x1Flat.add(d1.mul(this.eta)).mul(alpha.neg().add(1))
          .add(xFlat.add(d0.mul(this.eta)).mul(alpha)).clamp(0, 1).reshape(x.shape);
        const fooled = isAdv(logitsOf(this.forward, next).argmax(1));
        const distance = normOf(next.sub(x), this.norm);
        const better = fooled.logicalAnd(distance.lt(s.best));
        const best = where(better, distance, s.best);
        const adv = where(perExample(better, next), next, s.adv);
        const x1 = where(perExample(fooled, next), x.add(next.sub(x).mul(this.beta)), next);
        return { x1, best, adv };
      });
    }
    return { adv: s.adv, distance: s.best };
  }

  /** Untargeted: f_l − f_y and ∇f_l − ∇f_y for every class l ([B, C] and [B, C, d]); l = y excluded by f = 1e10. */
  private allDifferences(x1: Tensor, y: Tensor): { df: Tensor; dg: Tensor } {
    const { logits, jacobian } = logitsJacobian(this.forward, x1);
    const yIdx = y.unsqueeze(1);
    const df = logits.sub(logits.gather(1, yIdx)).scatter(1, yIdx, 1e10);
    const dg = jacobian.sub(jacobian.gather(1, yIdx.unsqueeze(2).expand(-1, 1, jacobian.shape[2]!)));
    return { df, dg };
  }

  /** Targeted: the single hyperplane f_t − f_y ([B, 1] and [B, 1, d]). */
  private targetDifference(x1: Tensor, y: Tensor, t: Tensor): { df: Tensor; dg: Tensor } {
    const { grad, objective } = inputGradient(this.forward, x1, (z) => pick(z, t).sub(pick(z, y)));
    return { df: objective.unsqueeze(1), dg: grad.flatten(1).unsqueeze(1) };
  }

  /** Restarts begin at x + ε/2 · u/||u|| (u uniform in [−1, 1]^d for L∞, Gaussian for L2), clipped to [0, 1]. */
  private randomStart(x: Tensor): Tensor {
    const u = this.norm === 'Linf' ? torch.rand(x.shape, { dtype: x.dtype, device: x.device }).mul(2).sub(1)
      : torch.randn(x.shape, { dtype: x.dtype, device: x.device });
    const p = this.norm === 'Linf' ? Infinity : 2;
    return x.add(u.div(perExample(flatNorm(u, p), u)).mul(this.eps * 0.5)).clamp(0, 1);
  }
}
