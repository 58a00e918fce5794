// EAD — Chen, Sharma, Zhang, Yi & Hsieh, "EAD: Elastic-Net Attacks to Deep Neural Networks via
// Adversarial Examples", AAAI 2018 (Algorithm 1: ISTA/FISTA on the elastic-net regularised CW loss,
// with a binary search over c), with its two decision rules: EAD-L1 and EAD-EN.
import * as torch from '@robusta/torch';
import { autograd, enableGrad, noGrad, type Tensor, where } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { maxOther, pick } from './losses.js';
import { perExample } from './lp.js';
import { checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface EADOptions extends AttackOptions {
  /** Confidence κ: the margin the adversarial class must win by. Default 0. */
  kappa?: number;
  /** Initial step size of the ISTA gradient step (decays as lr·(1 − k/maxIterations)^½). Default 0.01. */
  lr?: number;
  /** Binary-search steps over c. Default 9. */
  binarySearchSteps?: number;
  /** (F)ISTA iterations per value of c. Default 100. */
  maxIterations?: number;
  /** Stop an inner loop when the loss stopped decreasing (checked 10 times per loop). Default true. */
  abortEarly?: boolean;
  /** The first c. Default 0.001. */
  initialConst?: number;
  /** β: the weight of the L1 term (and the shrinkage threshold). Default 0.001. */
  beta?: number;
}

/** Which distortion picks the best adversarial example among the iterates. */
export type EADDecisionRule = 'L1' | 'EN';

/** c's upper bound before a success has been seen: c grows ×10 until then. */
const UNBOUNDED = 1e10;

/**
 * Minimise over x ∈ [0, 1]^d, for a per-example constant c,
 *   c·f(x) + ||x − x₀||₂² + β·||x − x₀||₁,   f(x) = max(Z(x)_y − max_{j≠y} Z(x)_j, −κ)
 * (targeted: max(max_{j≠t} Z(x)_j − Z(x)_t, −κ)) by FISTA: a gradient step on the smooth part
 *   y_k ← y_k − α_k·∇(c·f + ||·−x₀||₂²)(y_k),   α_k = lr·(1 − k/K)^½,
 * the projected shrinkage S_β (x = min(y − β, 1) where y − x₀ > β, max(y + β, 0) where y − x₀ < −β,
 * x₀ elsewhere), and the momentum y_k ← x_{k+1} + k/(k+3)·(x_{k+1} − x_k). Among the iterates that fool
 * the model (with margin κ) the one of least ||δ||₁ (EAD-L1) or ||δ||₂² + β||δ||₁ (EAD-EN) is kept;
 * after each inner loop c is bisected (success: c shrinks) or multiplied by 10 (no success yet).
 * Each value of c restarts from x₀, as the paper's Algorithm 1 and reference code do.
 */
export class ElasticNetAttack extends Attack {
  readonly kappa: number;
  readonly lr: number;
  readonly binarySearchSteps: number;
  readonly maxIterations: number;
  readonly abortEarly: boolean;
  readonly initialConst: number;
  readonly beta: number;
  readonly decisionRule: EADDecisionRule;

  constructor(name: string, decisionRule: EADDecisionRule, model: Classifier, options: EADOptions = {}) {
    super(name, model, options, { targeted: true });
    this.decisionRule = decisionRule;
    this.kappa = checkNumber(this.name, 'kappa', options.kappa ?? 0, { min: 0 });
    this.lr = checkNumber(this.name, 'lr', options.lr ?? 0.01, { min: 0, exclusiveMin: true });
    this.binarySearchSteps = checkSteps(this.name, 'binarySearchSteps', options.binarySearchSteps ?? 9);
    this.maxIterations = checkSteps(this.name, 'maxIterations', options.maxIterations ?? 100);
    this.abortEarly = options.abortEarly ?? true;
    this.initialConst = checkNumber(this.name, 'initialConst', options.initialConst ?? 0.001, { min: 0, exclusiveMin: true });
    this.beta = checkNumber(this.name, 'beta', options.beta ?? 0.001, { min: 0 });
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    const n = images.shape[0]!;
    const dev = { device: images.device };
    const cls = targets ?? labels;
    let lower = torch.zeros([n], dev);
    let constant = torch.full([n], this.initialConst, dev);
    let upper = torch.full([n], UNBOUNDED, dev);
    let overall = { cost: torch.full([n], 1e10, dev), adv: images.clone() };
    // The reference repeats the search once with c = upper bound when given ≥ 10 steps.
    const repeat = this.binarySearchSteps >= 10;
    const checkEvery = Math.max(Math.floor(this.maxIterations / 10), 1);
    for (let outer = 0; outer < this.binarySearchSteps; outer++) {
      if (repeat && outer === this.binarySearchSteps - 1) constant = upper.clone();
      let s = { x: images.clone(), y: images.clone(), bestCost: torch.full([n], 1e10, dev), bestPred: torch.full([n], -1, { ...dev, dtype: 'int64' }), ...overall };
      let previousLoss = 1e6;
      let lr = this.lr;
      for (let k = 1; k <= this.maxIterations; k++) {
        let stop = false;
        const stepLr = lr;
        s = advance(s, () => {
          const grad = enableGrad(() => {
            const y = s.y.detach().requiresGrad_(true);
            const smooth = constant.mul(this.attackLoss(this.forward(y), cls)).sum().add(squaredL2(y, images).sum());
            return autograd.grad(smooth, [y])[0]!;
          });
          const x = this.shrink(s.y.sub(grad.mul(stepLr)), images);
          const y = x.add(x.sub(s.x).mul(k / (k + 3)));
          return noGrad(() => {
            const logits = this.forward(x);
            const l2 = squaredL2(x, images);
            const l1 = x.sub(images).abs().flatten(1).sum(1);
            // The early stop compares the whole batch's loss (as the reference code), 10 times per loop,
            // and the iterate that triggers it is not recorded.
            if (this.abortEarly && (k - 1) % checkEvery === 0) {
              const loss = constant.mul(this.attackLoss(logits, cls)).sum().add(l2.sum()).add(l1.sum().mul(this.beta)).item();
              stop = loss > previousLoss * 0.999999;
              if (stop) return { ...s, x, y };
              previousLoss = loss;
            }
            const cost = this.decisionRule === 'L1' ? l1 : l2.add(l1.mul(this.beta));
            const fooled = this.fooledWithMargin(logits, cls);
            const better = cost.lt(s.bestCost).logicalAnd(fooled);
            const betterOverall = cost.lt(s.cost).logicalAnd(fooled);
            return {
              x, y,
              bestCost: where(better, cost, s.bestCost),
              bestPred: where(better, logits.argmax(1), s.bestPred),
              cost: where(betterOverall, cost, s.cost),
              adv: where(perExample(betterOverall, x), x, s.adv),
            };
          });
        });
        if (stop) break;
        lr = this.lr * (1 - k / this.maxIterations) ** 0.5;
      }
      const found = s.bestPred;
      overall = { cost: s.cost, adv: s.adv };
      for (const t of [s.x, s.y, s.bestCost]) t.dispose();
      const next = noGrad(() => {
        // Bisection on c: an example fooled in this loop lowers its upper bound, the others raise the lower one.
        const success = found.ne(-1).logicalAnd(targets ? found.eq(cls) : found.ne(cls));
        const up = where(success, upper.minimum(constant), upper);
        const low = where(success, lower, lower.maximum(constant));
        const c = where(up.lt(1e9), low.add(up).div(2), constant.mul(10));
        return { up, low, c };
      });
      for (const t of [found, upper, lower, constant]) t.dispose();
      ({ up: upper, low: lower, c: constant } = next);
    }
    for (const t of [upper, lower, constant, overall.cost]) t.dispose();
    return overall.adv;
  }

  /** f(x), per example: the CW margin clipped at −κ. */
  private attackLoss(logits: Tensor, cls: Tensor): Tensor {
    const gap = this.targeted ? maxOther(logits, cls).sub(pick(logits, cls)) : pick(logits, cls).sub(maxOther(logits, cls));
    return gap.clampMin(-this.kappa);
  }

  /** Fooled with margin κ: argmax of z with κ added to z_y (untargeted) or taken from z_t (targeted). */
  private fooledWithMargin(logits: Tensor, cls: Tensor): Tensor {
    const shifted = logits.scatter(1, cls.unsqueeze(1), pick(logits, cls).add(this.targeted ? -this.kappa : this.kappa).unsqueeze(1));
    const pred = shifted.argmax(1);
    return this.targeted ? pred.eq(cls) : pred.ne(cls);
  }

  /** S_β projected onto [0, 1]: soft-thresholding of y − x₀ at β. */
  private shrink(y: Tensor, x0: Tensor): Tensor {
    const diff = y.sub(x0);
    const up = y.sub(this.beta).clampMax(1);
    const down = y.add(this.beta).clampMin(0);
    return where(diff.gt(this.beta), up, where(diff.lt(-this.beta), down, x0));
  }
}

function squaredL2(x: Tensor, x0: Tensor): Tensor {
  return x.sub(x0).square().flatten(1).sum(1);
}

/** EAD with the L1 decision rule: the adversarial iterate of least ||δ||₁ (torchattacks' EADL1). */
export class EADL1 extends ElasticNetAttack {
  constructor(model: Classifier, options: EADOptions = {}) {
    super('EADL1', 'L1', model, options);
  }
}

/** EAD with the elastic-net decision rule: the adversarial iterate of least ||δ||₂² + β||δ||₁ (torchattacks' EADEN). */
export class EADEN extends ElasticNetAttack {
  constructor(model: Classifier, options: EADOptions = {}) {
    super('EADEN', 'EN', model, options);
  }
}

