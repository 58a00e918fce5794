// SparseFool — Modas, Moosavi-Dezfooli & Frossard, "SparseFool: a few pixels make a big difference",
// CVPR 2019 (Algorithm 1 with the LinearSolver of Algorithm 2): a sparse (L0) attack that linearises
// the decision boundary at DeepFool's boundary point and reaches that hyperplane one coordinate at a time.
import { noGrad, type Tensor, where } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { DeepFool } from './deepfool.js';
import { inputGradient } from './gradient.js';
import { pick } from './losses.js';
import { perExample } from './lp.js';
import { checkNumber, checkSteps } from './params.js';
import { advance } from './state.js';

export interface SparseFoolOptions extends AttackOptions {
  /** Outer iterations (DeepFool + linear solve). Default 10. */
  steps?: number;
  /** λ: how far beyond DeepFool's boundary point the linearisation is taken (x_B = x₀ + λ·(x_DF − x₀)). Default 3. */
  lam?: number;
  /** Overshoot η: the sparse perturbation is scaled by (1 + η). Default 0.02. */
  overshoot?: number;
}

/** The inner DeepFool's settings (torchattacks' DeepFool defaults). */
const DEEPFOOL_STEPS = 50;
const DEEPFOOL_OVERSHOOT = 0.02;
/** The solver's step past the hyperplane (·sign) and its smallest coordinate move. */
const SOLVER_BETA = 0.001;
const SOLVER_MIN_STEP = 1e-4;

/**
 * While x_i is still classified y (at most `steps` times):
 *   x_DF = DeepFool(x_i),  x_B = x₀ + λ·(x_DF − x₀),
 *   k = argmax f(x_B) (the runner-up class if that is still y),  w = ∇(f_k − f_y)(x_B) / ||·||₂,
 *   x_i ← clip_[0,1](x₀ + (1 + η)·(LinearSolver(x₀, w, x_B) − x₀)),
 * where LinearSolver moves x₀ towards the hyperplane {x : wᵀ(x − x_B) = 0} along the coordinate of
 * largest |w_j| (step |wᵀ(x − x_B) + β| / |w_j|, at least 1e-4, clipped to [0, 1]), drops that
 * coordinate, and repeats until the hyperplane is crossed or no coordinate is left. Untargeted only.
 * DeepFool is robusta's (no clipping of its intermediate steps).
 */
export class SparseFool extends Attack {
  readonly steps: number;
  readonly lam: number;
  readonly overshoot: number;
  private readonly deepFool: DeepFool;

  constructor(model: Classifier, options: SparseFoolOptions = {}) {
    super('SparseFool', model, options, { targeted: false });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.lam = checkNumber(this.name, 'lam', options.lam ?? 3, { min: 0 });
    this.overshoot = checkNumber(this.name, 'overshoot', options.overshoot ?? 0.02, { min: 0 });
    this.deepFool = new DeepFool(model, { steps: DEEPFOOL_STEPS, overshoot: DEEPFOOL_OVERSHOOT });
  }

  protected perturb({ images, labels }: AttackInput): Tensor {
    let adv = images.clone();
    for (let step = 0; step < this.steps; step++) {
      let done = false;
      adv = advance(adv, () => {
        const going = noGrad(() => this.forward(adv).argmax(1).eq(labels)).nonzero().flatten();
        if (going.shape[0] === 0) {
          done = true;
          return adv;
        }
        const x0 = images.indexSelect(0, going);
        const y = labels.indexSelect(0, going);
        const xdf = this.deepFool.generate(adv.indexSelect(0, going), y);
        const boundary = x0.add(xdf.sub(x0).mul(this.lam));
        const k = noGrad(() => {
          const z = this.forward(boundary);
          const top = z.argmax(1);
          const runnerUp = z.scatter(1, y.unsqueeze(1), -Infinity).argmax(1);
          return where(top.eq(y), runnerUp, top);
        });
        const { grad } = inputGradient(this.forward, boundary, (z) => pick(z, k).sub(pick(z, y)));
        const normal = grad.div(perExample(grad.flatten(1).norm(2, { dim: 1 }), grad));
        const solved = linearSolver(x0, normal, boundary);
        const next = x0.add(solved.sub(x0).mul(1 + this.overshoot)).clamp(0, 1);
        return adv.indexPut_([going], next);
      });
      if (done) break;
    }
    return adv;
  }
}

/**
 * Algorithm 2 (LinearSolver), batched: from x₀, move one coordinate at a time (largest |w_j| among
 * those not yet moved) towards the hyperplane wᵀ(x − p) = 0 until its side flips; [B, ...] in and out.
 */
export function linearSolver(x0: Tensor, normal: Tensor, point: Tensor): Tensor {
  const shape = x0.shape;
  const w = normal.flatten(1);
  const p = point.flatten(1);
  const side = (x: Tensor): Tensor => w.mul(x.sub(p)).sum(1);
  let s = noGrad(() => {
    const x = x0.flatten(1).clone();
    const coord = w.clone();
    return { x, coord, running: coord.ne(0).any(1) };
  });
  const sign0 = noGrad(() => side(x0.flatten(1)).sign());
  const beta = sign0.mul(SOLVER_BETA);
  while (noGrad(() => s.running.any().item()) === 1) {
    s = advance(s, () => noGrad(() => {
      const f = side(s.x).add(beta);
      const { values: largest, indices: j } = s.coord.abs().maxDim(1, true);
      const pert = f.abs().unsqueeze(1).div(largest).clampMin(SOLVER_MIN_STEP);
      const direction = s.coord.gather(1, j).sign();
      const moved = s.x.scatter(1, j, s.x.gather(1, j).add(pert.mul(direction))).clamp(0, 1);
      const x = where(s.running.unsqueeze(1), moved, s.x);
      const coord = where(s.running.unsqueeze(1), s.coord.scatter(1, j, 0), s.coord);
      const running = s.running.logicalAnd(side(x).sign().eq(sign0)).logicalAnd(coord.ne(0).any(1));
      return { x, coord, running };
    }));
  }
  const out = s.x.reshape(shape);
  s.coord.dispose();
  s.running.dispose();
  return out;
}

