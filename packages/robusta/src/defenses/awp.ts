// AWP — Wu, Xia & Wang, "Adversarial Weight Perturbation Helps Robust Generalization", NeurIPS 2020
// (official code: csdongxian/AWP, utils_awp.py). Around an adversarial defense with outer loss ρ:
//   min_w max_{v ∈ V} ρ(w + v),   V = { v : ‖v_l‖ ≤ γ‖w_l‖ for every layer l },   γ = 5e-3,
// the inner max over v approximated by one normalised ascent step per layer (layer-wise relative):
//   g_l = ∇_{w_l} ρ(w, x', y),   v_l = γ · ‖w_l‖ / (‖g_l‖ + 1e-20) · g_l,
// for the weight tensors with more than one dimension (conv and linear weights; biases and norm
// layers are left alone, as the official diff_in_weights does). Each step:
//   1. x' from the inner defense with the weights as they are;
//   2. g at w on a proxy: the official code copies the model into a proxy and takes one SGD step
//      on −ρ (lr 0.01, normalised away); we take ρ's gradient on the model itself with
//      autograd.grad (no .grad touched) and put the BatchNorm running statistics back afterwards,
//      which is what the separate proxy achieves;
//   3. perturb w ← w + v, compute the loss ρ(w + v) — the trainer back-propagates it;
//   4. restore w exactly (a saved copy, not w + v − v) before the optimizer step.
// The official code restores after optimizer.step() by subtracting v; restoring first applies the
// same gradient ∇ρ(w + v) to w itself and differs only in the weight-decay term (λ·v instead of 0).
import { autograd, enableGrad, keep, noGrad, type Tensor, tidy } from '@robusta/torch';
import { checkCount, checkFinite } from './params.js';
import type { AdversarialDefense, DefenseContext, DefenseLoss, DefenseOutput, TrainableModel } from './types.js';
import { DefenseConfigError } from './types.js';

export interface AWPOptions {
  /** γ (the paper's ρ budget): the perturbation of layer l has norm γ·‖w_l‖. Default 5e-3. */
  gamma?: number;
  /** Epochs of plain inner-defense training before AWP starts (the official awp_warmup). Default 0. */
  warmupEpochs?: number;
  /**
   * How the script whose awp_warmup you copy counts epochs: AWP is on once epoch + firstEpoch ≥
   * warmupEpochs, the trainer's epochs counting from 0. 0 (default): warmupEpochs epochs of warm-up,
   * as csdongxian/AWP's AT script (epochs from 0); 1: as its TRADES-AWP script (train_trades_cifar.py,
   * epochs from 1, `epoch >= awp_warmup`), whose awp_warmup = 10 perturbs from its 10th epoch, after
   * 9 epochs of warm-up.
   */
  firstEpoch?: 0 | 1;
  /** Which parameters are perturbed; default: names ending in 'weight' with more than one dimension. */
  select?: (name: string, param: Tensor) => boolean;
}

const EPS = 1e-20;

/** The official selection: weight tensors (by name) of more than one dimension. */
export function defaultAwpSelection(name: string, param: Tensor): boolean {
  return param.ndim > 1 && /(^|\.)weight$/.test(name);
}

/** One layer's perturbation: the parameter and the v added to it. */
export interface WeightPerturbation {
  name: string;
  param: Tensor;
  v: Tensor;
}

export class AWP implements DefenseLoss {
  readonly name: string;
  readonly inner: AdversarialDefense;
  readonly gamma: number;
  readonly warmupEpochs: number;
  readonly firstEpoch: 0 | 1;
  private readonly select: (name: string, param: Tensor) => boolean;

  constructor(inner: AdversarialDefense, o: AWPOptions = {}) {
    if (!inner || typeof inner.generate !== 'function' || typeof inner.objective !== 'function') {
      throw new DefenseConfigError('AWP', 'wraps a two-stage defense (AT, TRADES, MART, Fast-AT or Standard)');
    }
    this.inner = inner;
    this.name = `AWP-${inner.name}`;
    this.gamma = checkFinite(this.name, 'gamma', o.gamma ?? 5e-3);
    this.warmupEpochs = checkCount(this.name, 'warmupEpochs', o.warmupEpochs ?? 0, 0);
    if (o.firstEpoch !== undefined && o.firstEpoch !== 0 && o.firstEpoch !== 1) {
      throw new RangeError(`${this.name}: firstEpoch must be 0 or 1, got ${String(o.firstEpoch)}`);
    }
    this.firstEpoch = o.firstEpoch ?? 0;
    this.select = o.select ?? defaultAwpSelection;
  }

  /**
   * The perturbation v at the current weights for the batch (x, x', y): tensors the caller owns.
   * The model's parameters, gradients and buffers are left exactly as they were.
   */
  perturbation(model: TrainableModel, x: Tensor, xAdv: Tensor, y: Tensor): WeightPerturbation[] {
    const chosen = model.namedParameters().filter(([name, p]) => p.requiresGrad && this.select(name, p));
    if (chosen.length === 0) return [];
    const buffers = model.buffers();
    const savedBuffers = noGrad(() => buffers.map((b) => keep(b.clone())));
    try {
      return tidy(() => {
        const grads = enableGrad(() => {
          const out = this.inner.objective(model, x, xAdv, y);
          return autograd.grad(out.loss, chosen.map(([, p]) => p), { allowUnused: true });
        });
        return noGrad(() => chosen.map(([name, param], i) => {
          const g = grads[i];
          if (!g) return { name, param, v: keep(param.detach().mul(0)) };
          const scale = param.norm().div(g.norm().add(EPS)).mul(this.gamma);
          return { name, param, v: keep(g.mul(scale)) };
        }));
      });
    } finally {
      noGrad(() => buffers.forEach((b, i) => b.copy_(savedBuffers[i]!)));
      for (const s of savedBuffers) s.dispose();
    }
  }

  compute(model: TrainableModel, x: Tensor, y: Tensor, context?: DefenseContext): DefenseOutput {
    const xAdv = this.inner.generate(model, x, y);
    if ((context?.epoch ?? 0) + this.firstEpoch < this.warmupEpochs) return this.inner.objective(model, x, xAdv, y);
    const perturbation = this.perturbation(model, x, xAdv, y);
    const saved = noGrad(() => perturbation.map(({ param, v }) => {
      const copy = keep(param.detach().clone());
      param.add_(v);
      v.dispose();
      return copy;
    }));
    let restored = false;
    const restore = (): void => {
      if (restored) return;
      restored = true;
      noGrad(() => perturbation.forEach(({ param }, i) => param.copy_(saved[i]!)));
      for (const s of saved) s.dispose();
    };
    try {
      const out = this.inner.objective(model, x, xAdv, y);
      return { ...out, restore };
    } catch (err) {
      restore();
      throw err;
    }
  }
}
