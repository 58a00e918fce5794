// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// updating exactly as torch.optim.SGD (PyTorch 1.13, single-tensor path):
//   g ← ∇ + wd·θ;  b ← g (first step) | μ·b + (1 − τ)·g;  g ← g + μ·b (Nesterov) | b;  θ ← θ − lr·g
// (Sutskever et al. 2013 for the momentum formulation).
import type { Tensor } from '@robusta/torch';
import { keep } from '@robusta/torch';
import { Optimizer, type ParamGroup, type ParamGroupSpec, type ParamState } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  /** Default 0. */
  momentum?: number;
  /** τ: the fraction of the gradient not added to the momentum buffer (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** Ascend instead of descend. */
  maximize?: boolean;
}

export type SGDHyper = Required<SGDOptions>;

export class SGD extends Optimizer<SGDHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<SGDHyper>>, o: SGDOptions) {
    super(params, {
      lr: o.lr, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weightDecay: o.weightDecay ?? 0,
      nesterov: o.nesterov ?? false, maximize: o.maximize ?? false,
    });
  }

  protected override validateGroup(g: ParamGroup<SGDHyper>): void {
    super.validateGroup(g);
    if (!(g.momentum >= 0)) throw new RangeError(`invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`invalid weightDecay value: ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new RangeError('Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected updateParameter(p: Tensor, grad: Tensor, g: ParamGroup<SGDHyper>, state: ParamState): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, g.weightDecay);
    if (g.momentum !== 0) {
      let buf = state.momentumBuffer as Tensor | undefined;
      if (buf === undefined) {
        buf = keep(d.clone());
        state.momentumBuffer = buf;
      } else {
        buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      }
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }
}
