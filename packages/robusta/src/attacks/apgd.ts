// APGD — Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
// parameter-free attacks", ICML 2020 (Algorithm 1), with the CE and DLR losses.
import * as torch from '@robusta/torch';
import { type Tensor, tidy, where } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective, dlrLoss, targetedDlrLoss } from './losses.js';
import { flatNorm, perExample, projectBall } from './lp.js';
import { checkEps, checkNorm, checkNumber, checkSteps, type Norm } from './params.js';
import { advance } from './state.js';

export type ApgdLoss = 'ce' | 'dlr';

/** What the step-size controller decided at one checkpoint w_j. */
export interface ApgdCheckpoint {
  /** Restart index (0-based) and, for APGD-T, the target's rank (2 = second most likely class). */
  restart: number;
  targetRank?: number;
  /** Iterations done when the check ran (= w_j). */
  iteration: number;
  /** Positions, in the batch given to the attack, of the examples still being optimised. */
  indices: number[];
  /** Their step sizes η after this checkpoint. */
  stepSizes: number[];
  /** Whether each one's step size was just halved. */
  reduced: boolean[];
}

export interface APGDOptions extends AttackOptions {
  norm?: Norm;
  /** Budget. Default 8/255 (Linf) or 0.5 (L2). */
  eps?: number;
  /** Iterations N_iter per restart. Default 100. */
  steps?: number;
  /** Random restarts, each on the examples not yet fooled. Default 1. */
  nRestarts?: number;
  /** 'ce' (cross-entropy) or 'dlr' (Difference of Logits Ratio). Default 'ce'. */
  loss?: ApgdLoss;
  /** Expectation over Transformation: gradients averaged over this many forward/backward passes. Default 1. */
  eotIter?: number;
  /** ρ of condition 1. Default 0.75. */
  rho?: number;
  /**
   * Stop updating examples once they are fooled. The set of fooled examples is the same either way
   * (an example counts as fooled if any iterate fooled it); the returned point is then the first
   * fooling iterate rather than the last. Default true.
   */
  earlyStop?: boolean;
  /** Called at every checkpoint (for tests and diagnostics). */
  onCheckpoint?: (c: ApgdCheckpoint) => void;
}

/**
 * The checkpoints w_j at which the step size may be halved: p₀ = 0, p₁ = 0.22,
 * p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), w_j = ⌈p_j·N_iter⌉, computed in whole iterations
 * as the reference implementation does (first interval ⌊0.22·N⌋, shrinking by ⌊0.03·N⌋ down to ⌊0.06·N⌋,
 * each at least 1). For N_iter = 100: 22, 41, 57, 70, 80, 87, 93, 99.
 */
export function apgdCheckpoints(nIter: number): number[] {
  const { first, decrement, minimum } = checkpointIntervals(nIter);
  const out: number[] = [];
  for (let k = first, at = first; at <= nIter; k = Math.max(k - decrement, minimum), at += k) out.push(at);
  return out;
}

function checkpointIntervals(nIter: number): { first: number; decrement: number; minimum: number } {
  return {
    first: Math.max(Math.floor(0.22 * nIter), 1),
    decrement: Math.max(Math.floor(0.03 * nIter), 1),
    minimum: Math.max(Math.floor(0.06 * nIter), 1),
  };
}

/** The pieces of one APGD run that differ between APGD, APGD targeted and APGD-T. */
export interface ApgdConfig {
  forward: (x: Tensor) => Tensor;
  norm: Norm;
  eps: number;
  nIter: number;
  rho: number;
  eotIter: number;
  earlyStop: boolean;
  /** Per-example objective to maximise. */
  objective: (logits: Tensor, labels: Tensor, targets: Tensor | null) => Tensor;
  /** bool [B]: the logits count as a successful attack. */
  fooled: (logits: Tensor, labels: Tensor, targets: Tensor | null) => Tensor;
  onCheckpoint?: (iteration: number, indices: number[], stepSizes: number[], reduced: boolean[]) => void;
}

/** Momentum α of the update (the paper's 0.75; 1 at the first step). */
const MOMENTUM = 0.75;

/**
 * One run of APGD (Croce & Hein 2020, Algorithm 1) from a random point of the ε-sphere:
 *   z^{k+1} = P_S(x^k + η^k·s(∇f(x^k)))     (s = sign for L∞, g/||g||₂ for L2)
 *   x^{k+1} = P_S(x^k + α(z^{k+1} − x^k) + (1 − α)(x^k − x^{k−1})),   α = 0.75 (1 at k = 0),
 * η⁰ = 2ε, and at each checkpoint w_j, η is halved and x restarts from x_max where
 *   (1) Σ_{i=w_{j−1}}^{w_j−1} 1[f(x^{i+1}) > f(x^i)] ≤ ρ·(w_j − w_{j−1})   (≤ as the reference code), or
 *   (2) η was not halved at w_{j−1} and f_max did not grow since then.
 * In the first window the official code (autoattack's check_oscillation over a zero-initialised
 * loss_steps array, indexed at −1) compares f(x¹) with 0, not with f(x⁰): so does this one, so that
 * the step sizes, and with them AutoAttack's numbers, are the official ones (with N_iter = 1 the
 * entry is f(x¹) itself and the comparison is false).
 * Returns bool `fooled` [B] and `adv` (a fooling iterate where fooled, else x).
 */
export function apgdRun(cfg: ApgdConfig, x: Tensor, labels: Tensor, targets: Tensor | null): { fooled: Tensor; adv: Tensor } {
  const n = x.shape[0]!;
  const adv = x.clone();
  const fooledOut = torch.zeros([n], { dtype: 'bool', device: x.device });
  const record = (fooledNow: Tensor, idx: Tensor, point: Tensor): void => {
    const sel = fooledNow.nonzero().flatten();
    if (sel.shape[0] === 0) return;
    const ids = idx.indexSelect(0, sel);
    adv.indexPut_([ids], point.indexSelect(0, sel));
    fooledOut.indexPut_([ids], torch.ones([sel.shape[0]!], { dtype: 'bool', device: x.device }));
  };
  const gradientAt = (point: Tensor, y: Tensor, t: Tensor | null): { grad: Tensor; logits: Tensor; loss: Tensor } => {
    let sum: Tensor | null = null;
    let last = null;
    for (let e = 0; e < cfg.eotIter; e++) {
      last = inputGradient(cfg.forward, point, (z) => cfg.objective(z, y, t));
      sum = sum ? sum.add(last.grad) : last.grad;
    }
    return { grad: cfg.eotIter > 1 ? sum!.div(cfg.eotIter) : sum!, logits: last!.logits, loss: last!.objective };
  };
  const direction = (g: Tensor): Tensor => (cfg.norm === 'Linf' ? g.sign() : g.div(perExample(flatNorm(g, 2).add(1e-12), g)));

  let s = tidy(() => {
    // Random start on the sphere of radius ε: t ~ U(-1, 1)^d scaled to ||t||∞ = 1, or t ~ N(0, I) scaled to ||t||₂ = 1.
    const u = cfg.norm === 'Linf' ? torch.rand(x.shape, { dtype: x.dtype, device: x.device }).mul(2).sub(1)
      : torch.randn(x.shape, { dtype: x.dtype, device: x.device });
    const uNorm = cfg.norm === 'Linf' ? flatNorm(u, Infinity) : flatNorm(u, 2).add(1e-12);
    const xAdv = x.add(u.div(perExample(uNorm, u)).mul(cfg.eps)).clamp(0, 1);
    const { grad, logits, loss } = gradientAt(xAdv, labels, targets);
    const idx = torch.arange(n, undefined, 1, { device: x.device });
    const f = cfg.fooled(logits, labels, targets);
    record(f, idx, xAdv);
    const state = {
      idx, x: x.detach(), y: labels.detach(), t: targets ? targets.detach() : null,
      xAdv, xOld: xAdv, grad, xBest: xAdv, gradBest: grad, lossBest: loss, lossBestLast: loss,
      reducedLast: torch.ones([n], { dtype: 'bool', device: x.device }),
      step: torch.full([n], 2 * cfg.eps, { dtype: x.dtype, device: x.device }),
      // Condition 1 bookkeeping: the previous iterate's objective and how often it rose since the last checkpoint;
      // before the first iterate, the official code's zero entry (see above).
      lossPrev: cfg.nIter > 1 ? torch.zerosLike(loss) : torch.fullLike(loss, Infinity),
      increases: torch.zerosLike(loss),
    };
    return cfg.earlyStop ? compact(state, f.logicalNot()) : state;
  });

  const { first, decrement, minimum } = checkpointIntervals(cfg.nIter);
  let interval = first;
  let sinceCheck = 0;
  for (let i = 0; i < cfg.nIter && s.idx.shape[0]! > 0; i++) {
    s = advance(s, () => {
      const a = i > 0 ? MOMENTUM : 1.0;
      const z = projectBall(s.xAdv.add(direction(s.grad).mul(perExample(s.step, s.x))), s.x, cfg.eps, cfg.norm);
      let xNew = projectBall(s.xAdv.add(z.sub(s.xAdv).mul(a)).add(s.xAdv.sub(s.xOld).mul(1 - a)), s.x, cfg.eps, cfg.norm);
      let { grad, logits, loss } = gradientAt(xNew, s.y, s.t);
      const f = cfg.fooled(logits, s.y, s.t);
      record(f, s.idx, xNew);
      const improved = loss.gt(s.lossBest);
      const improvedEx = perExample(improved, xNew);
      const xBest = where(improvedEx, xNew, s.xBest);
      const gradBest = where(improvedEx, grad, s.gradBest);
      const lossBest = where(improved, loss, s.lossBest);
      let { step, reducedLast, lossBestLast } = s;
      let increases = s.increases.add(loss.gt(s.lossPrev).to({ dtype: loss.dtype }));
      sinceCheck++;
      if (sinceCheck === interval) {
        // Condition 1: the objective increased in at most ρ of the last `interval` steps.
        const oscillating = increases.le(interval * cfg.rho);
        // Condition 2: not halved at the previous checkpoint and no progress of the best objective since.
        const stalled = reducedLast.logicalNot().logicalAnd(lossBestLast.ge(lossBest));
        const reduce = oscillating.logicalOr(stalled);
        const reduceEx = perExample(reduce, xNew);
        step = where(reduce, step.div(2), step);
        xNew = where(reduceEx, xBest, xNew);
        grad = where(reduceEx, gradBest, grad);
        reducedLast = reduce;
        lossBestLast = lossBest;
        increases = torch.zerosLike(loss);
        if (cfg.onCheckpoint) {
          cfg.onCheckpoint(i + 1, s.idx.toFlatArray(), step.toFlatArray(), reduce.toFlatArray().map((v) => v !== 0));
        }
        sinceCheck = 0;
        interval = Math.max(interval - decrement, minimum);
      }
      const next = {
        idx: s.idx, x: s.x, y: s.y, t: s.t, xAdv: xNew, xOld: s.xAdv, grad, xBest, gradBest, lossBest, lossBestLast,
        reducedLast, step, lossPrev: loss, increases,
      };
      return cfg.earlyStop ? compact(next, f.logicalNot()) : next;
    });
  }
  return { fooled: fooledOut, adv };
}

/** Keeps the rows of every per-example tensor in the state where `keep` is true (all true: the same state). */
function compact<S extends Record<string, unknown>>(state: S, keep: Tensor): S {
  if (keep.all().item() === 1) return state;
  const rows = keep.nonzero().flatten();
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(state)) {
    out[key] = value instanceof torch.Tensor ? value.indexSelect(0, rows) : value;
  }
  return out as S;
}

/** Shared checks and run loop of APGD and APGD-T. */
export abstract class ApgdBase extends Attack {
  readonly norm: Norm;
  readonly eps: number;
  readonly steps: number;
  readonly nRestarts: number;
  readonly eotIter: number;
  readonly rho: number;
  readonly earlyStop: boolean;
  readonly onCheckpoint: ((c: ApgdCheckpoint) => void) | undefined;

  protected constructor(name: string, model: Classifier, options: APGDOptions, targeted: boolean) {
    super(name, model, options, { targeted }, 0);
    this.norm = checkNorm(name, options.norm ?? 'Linf');
    this.eps = checkEps(name, options.eps ?? (this.norm === 'Linf' ? 8 / 255 : 0.5));
    this.steps = checkSteps(name, 'steps', options.steps ?? 100);
    this.nRestarts = checkSteps(name, 'nRestarts', options.nRestarts ?? 1);
    this.eotIter = checkSteps(name, 'eotIter', options.eotIter ?? 1);
    this.rho = checkNumber(name, 'rho', options.rho ?? 0.75, { min: 0, max: 1 });
    this.earlyStop = options.earlyStop ?? true;
    this.onCheckpoint = options.onCheckpoint;
  }

  protected config(objective: ApgdConfig['objective'], fooled: ApgdConfig['fooled'], restart: number, targetRank: number | undefined,
    subset: Tensor): ApgdConfig {
    const cb = this.onCheckpoint;
    const ids = subset.toFlatArray();
    return {
      forward: this.forward, norm: this.norm, eps: this.eps, nIter: this.steps, rho: this.rho, eotIter: this.eotIter,
      earlyStop: this.earlyStop, objective, fooled,
      onCheckpoint: cb ? (iteration, indices, stepSizes, reduced) => cb({
        restart, ...(targetRank === undefined ? {} : { targetRank }), iteration,
        indices: indices.map((i) => ids[i]!), stepSizes, reduced,
      }) : undefined,
    };
  }

  /** Runs `apgdRun` on the examples of `robust` (updated in place) and writes the fooling points into `adv`. */
  protected attackRobust(adv: Tensor, robust: Tensor, images: Tensor, labels: Tensor, targets: Tensor | null,
    makeConfig: (subset: Tensor) => ApgdConfig, subsetTargets?: (subset: Tensor) => Tensor): void {
    tidy(() => {
      const ids = robust.nonzero().flatten();
      if (ids.shape[0] === 0) return;
      const t = subsetTargets ? subsetTargets(ids) : targets ? targets.indexSelect(0, ids) : null;
      const r = apgdRun(makeConfig(ids), images.indexSelect(0, ids), labels.indexSelect(0, ids), t);
      const ok = r.fooled.nonzero().flatten();
      if (ok.shape[0] === 0) return;
      const okIds = ids.indexSelect(0, ok);
      adv.indexPut_([okIds], r.adv.indexSelect(0, ok));
      robust.indexPut_([okIds], torch.zeros([okIds.shape[0]!], { dtype: 'bool', device: robust.device }));
    });
  }
}

/**
 * APGD with the cross-entropy or the DLR loss; in targeted modes it maximises −CE(z, t) or the targeted
 * DLR loss towards the given targets. Examples misclassified when clean are left as they are.
 */
export class APGD extends ApgdBase {
  readonly loss: ApgdLoss;

  constructor(model: Classifier, options: APGDOptions = {}) {
    super('APGD', model, options, true);
    if (options.loss !== undefined && options.loss !== 'ce' && options.loss !== 'dlr') {
      throw new RangeError(`APGD: loss must be 'ce' or 'dlr', got '${String(options.loss)}'`);
    }
    this.loss = options.loss ?? 'ce';
  }

  protected perturb({ images, labels, targets, cleanLogits, numClasses }: AttackInput): Tensor {
    if (this.loss === 'dlr' && numClasses < (targets ? 4 : 3)) {
      throw new RangeError(`APGD: the ${targets ? 'targeted ' : ''}DLR loss needs at least ${targets ? 4 : 3} classes, the model has ${numClasses}`);
    }
    const objective: ApgdConfig['objective'] = this.loss === 'ce'
      ? (z, y, t) => crossEntropyObjective(z, y, t)
      : (z, y, t) => (t ? targetedDlrLoss(z, y, t) : dlrLoss(z, y));
    const fooled: ApgdConfig['fooled'] = (z, y, t) => (t ? z.argmax(1).eq(t) : z.argmax(1).ne(y));
    const adv = images.clone();
    const robust = fooled(cleanLogits, labels, targets).logicalNot();
    for (let r = 0; r < this.nRestarts; r++) {
      this.attackRobust(adv, robust, images, labels, targets, (subset) => this.config(objective, fooled, r, undefined, subset));
    }
    return adv;
  }
}
