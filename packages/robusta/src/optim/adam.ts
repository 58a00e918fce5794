// Adam (Kingma & Ba 2015) with optional L2 weight decay and AMSGrad (Reddi et al. 2018), updating
// exactly as torch.optim.Adam (PyTorch 1.13, single-tensor path):
//   t ← t + 1;  g ← ∇ + wd·θ;  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
//   θ ← θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)      (v → max of all v so far with AMSGrad)
// AdamW (Loshchilov & Hutter 2019) decays the weights instead: θ ← θ·(1 − lr·wd) before the update.
import type { Tensor } from '@robusta/torch';
import { keep, zerosLike } from '@robusta/torch';
import { Optimizer, type ParamGroup, type ParamGroupSpec, type ParamState } from './optimizer.js';

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** [β₁, β₂], default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export type AdamHyper = Required<AdamOptions>;

abstract class AdamBase extends Optimizer<AdamHyper> {
  /** Whether weight decay is decoupled from the gradient (AdamW) or an L2 term (Adam). */
  protected abstract readonly decoupled: boolean;

  protected override validateGroup(g: ParamGroup<AdamHyper>): void {
    super.validateGroup(g);
    const [b1, b2] = g.betas;
    if (!(b1 >= 0 && b1 < 1)) throw new RangeError(`invalid beta parameter at index 0: ${b1}`);
    if (!(b2 >= 0 && b2 < 1)) throw new RangeError(`invalid beta parameter at index 1: ${b2}`);
    if (!(g.eps >= 0)) throw new RangeError(`invalid epsilon value: ${g.eps}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`invalid weightDecay value: ${g.weightDecay}`);
  }

  protected updateParameter(p: Tensor, grad: Tensor, g: ParamGroup<AdamHyper>, state: ParamState): void {
    const [beta1, beta2] = g.betas;
    if (state.step === undefined) {
      state.step = 0;
      state.expAvg = keep(zerosLike(p));
      state.expAvgSq = keep(zerosLike(p));
      if (g.amsgrad) state.maxExpAvgSq = keep(zerosLike(p));
    }
    const expAvg = state.expAvg as Tensor;
    const expAvgSq = state.expAvgSq as Tensor;
    let gr = g.maximize ? grad.neg() : grad;
    const step = (state.step as number) + 1;
    state.step = step;
    if (this.decoupled) p.mul_(1 - g.lr * g.weightDecay);
    else if (g.weightDecay !== 0) gr = gr.add(p, g.weightDecay);
    expAvg.mul_(beta1).add_(gr, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(gr, gr, 1 - beta2);
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const stepSize = g.lr / biasCorrection1;
    const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
    let second = expAvgSq;
    if (g.amsgrad) {
      let max = state.maxExpAvgSq as Tensor | undefined;
      if (max === undefined) {
        max = keep(zerosLike(p));
        state.maxExpAvgSq = max;
      }
      max.copy_(max.maximum(expAvgSq));
      second = max;
    }
    const denom = second.sqrt().div(biasCorrection2Sqrt).add_(g.eps);
    p.addcdiv_(expAvg, denom, -stepSize);
  }
}

export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdamHyper>>, o: AdamOptions = {}) {
    super(params, {
      lr: o.lr ?? 1e-3, betas: o.betas ?? [0.9, 0.999], eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0,
      amsgrad: o.amsgrad ?? false, maximize: o.maximize ?? false,
    });
  }
}

export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdamHyper>>, o: AdamOptions = {}) {
    super(params, {
      lr: o.lr ?? 1e-3, betas: o.betas ?? [0.9, 0.999], eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 1e-2,
      amsgrad: o.amsgrad ?? false, maximize: o.maximize ?? false,
    });
  }
}
