// Flatness of the robust loss in weight space — Stutz, Hein & Schiele, "Relating Adversarially Robust
// Generalization to Flat Minima", ICCV 2021 (§4; their code: davidstutz/robust-generalization-flatness).
// With the robust loss RCE(w) = (1/n) Σ_i max_{‖δ_i‖ ≤ ε} CE(f(x_i + δ_i; w), y_i) and the relative,
// layer-wise ball B_ξ(w) = {ν : ‖ν_l‖₂ ≤ ξ‖w_l‖₂ for every layer l}:
//   average-case flatness    = E_{ν}[RCE(w + ν)] − RCE(w),   ν_l uniform on the sphere ‖ν_l‖₂ = ξ‖w_l‖₂,  ξ = 0.5
//   worst-case flatness      = max_{ν ∈ B_ξ(w)} RCE(w + ν) − RCE(w),   ξ = 0.003
// A flatter robust loss (smaller value) predicts a smaller robust generalization gap (direction −1).
//
// As Stutz et al.:
// - a "layer" is each parameter tensor (weights and biases separately); normalization layers
//   (BatchNorm2d weight and bias) are not perturbed; buffers (running statistics) never are;
// - the adversarial examples are recomputed for the perturbed weights (the max over δ is taken at
//   w + ν); RCE(w) is the cross-entropy on the shared PGD examples ctx.adversarial();
// - average case: 10 random ν, ν_l = ξ‖w_l‖ · g/‖g‖ with g ~ N(0, I) of the layer's shape (uniform
//   on the sphere), drawn layer by layer in parameter order, sample after sample; for each, PGD is
//   rerun with settings.attack (batch b seeded with seed + b, as the shared examples: the perturbed
//   and unperturbed robust losses use the same random starts, which lowers the variance of their
//   difference); the generator's stream of ν draws is not moved by those attacks;
// - worst case: 20 iterations of joint projected gradient ascent on ν and δ (Stutz's joint
//   weight-and-input attack): each iteration computes ∇_ν and ∇_δ of Σ_i CE at (w + ν, x + δ), then
//     δ_i ← Π_{ε-ball ∩ [0,1]}(δ_i + α·sign ∇_δ)   (L∞; L2: α·∇/‖∇‖₂ per example), settings.attack's ε, α;
//     ν_l ← Π_{‖ν_l‖ ≤ ξ‖w_l‖}(ν_l + η‖w_l‖ · ∇_{ν_l}/‖∇_{ν_l}‖),   η = 0.01 (Stutz's weight step,
//     gradients normalised per layer relative to the layer's norm), radial projection per layer;
//   after the last iteration the robust loss is the cross-entropy at the final (w + ν, x + δ).
// Choices made here that their code leaves otherwise:
// - worst case starts from ν = 0 and δ = the shared PGD examples (their code starts both at random
//   points); this needs no random draw, and the joint ascent then measures how much the weight
//   perturbation adds to the loss PGD already found, rather than differences between attacks;
// - ∇_ν is the gradient over all n examples (accumulated over the batches: one ν step per
//   iteration, so the value does not depend on the batch size); their code steps ν once per batch;
// - one random restart (their average over 10 "attempts" is our 10 samples; their worst case takes
//   the max over attempts, we run one); a layer whose gradient is zero is not moved;
// - per-example values: for example i, the (mean over samples of the) perturbed cross-entropy minus
//   its unperturbed one; the value is their mean. The worst-case ν is shared by all examples.
// The model's tensors are perturbed in place under noGrad and copied back from clones in a finally
// block, so the weights after the measure are bit-identical to those before (also after an error).
import * as torch from '@robusta/torch';
import { autograd, cat, enableGrad, F, keep, noGrad, type Tensor, tidy } from '@robusta/torch';
import { flatNorm, perExample, projectL2, projectLinf } from '../attacks/lp.js';
import { BatchNorm2d } from '../nn/layers/batchnorm.js';
import type { Module } from '../nn/module.js';
import { batchedLogits, DefaultMeasureContext, mean } from './context.js';
import { type MeasureAttack, type MeasureContext, type MeasureDefinition, MeasureError, type MeasureResult } from './types.js';

const STUTZ = 'Stutz, Hein & Schiele, "Relating Adversarially Robust Generalization to Flat Minima", ICCV 2021';

/** Average case: relative radius ξ and number of random perturbations. */
export const AVERAGE_FLATNESS = { radius: 0.5, samples: 10 } as const;
/** Worst case: relative radius ξ, joint ascent iterations, relative weight step η. */
export const WORST_CASE_FLATNESS = { radius: 0.003, steps: 20, weightStep: 0.01 } as const;

/** The parameters that are perturbed: every parameter except those of BatchNorm2d layers, in parameter order. */
export function perturbedParameters(model: Module): [string, Tensor][] {
  const normalization = new Set<Tensor>();
  for (const m of model.modules()) {
    if (m instanceof BatchNorm2d) for (const t of [m.weight, m.bias]) if (t) normalization.add(t);
  }
  return model.namedParameters().filter(([, t]) => !normalization.has(t));
}

/** Per-example cross-entropy of the model on x (no autograd). */
function crossEntropies(model: Module, x: Tensor, y: Tensor, batchSize: number): number[] {
  return tidy(() => F.crossEntropy(batchedLogits(model, x, batchSize), y, { reduction: 'none' }).toFlatArray());
}

/** Per-example CE on the shared PGD examples: the unperturbed robust loss, computed once. */
function robustLoss(ctx: MeasureContext): number[] {
  return ctx.memo('flatness:robust-loss', () => crossEntropies(ctx.model, ctx.adversarial(), ctx.examples().y, ctx.settings.batchSize));
}

/**
 * Runs fn with the perturbed parameters at hand, then copies their original values back exactly
 * (also when fn throws). fn receives the parameters and clones of their original values.
 */
function withWeightsRestored<T>(model: Module, fn: (params: Tensor[], originals: Tensor[]) => T): T {
  const params = perturbedParameters(model).map(([, t]) => t);
  if (params.length === 0) throw new MeasureError('flatness: the model has no parameters outside normalization layers');
  const originals = params.map((p) => keep(p.detach().clone()));
  try {
    return fn(params, originals);
  } finally {
    noGrad(() => params.forEach((p, l) => p.copy_(originals[l]!)));
    for (const o of originals) o.dispose();
  }
}

/** Per-example differences to the unperturbed robust loss, and their mean. */
function difference(perturbed: number[], reference: number[]): MeasureResult {
  const perExampleValues = perturbed.map((v, i) => v - reference[i]!);
  return { value: mean(perExampleValues), perExample: perExampleValues };
}

function averageFlatness(ctx: MeasureContext): MeasureResult {
  const reference = robustLoss(ctx);
  const split = ctx.settings.split;
  const examples = ctx.examples(split);
  const n = examples.x.shape[0]!;
  const { radius, samples } = AVERAGE_FLATNESS;
  const total = new Array<number>(n).fill(0);
  withWeightsRestored(ctx.model, (params, originals) => {
    const radii = originals.map((w) => radius * w.norm().item());
    for (let k = 0; k < samples; k++) {
      tidy(() => {
        noGrad(() => params.forEach((p, l) => {
          const g = torch.randn(p.shape, { dtype: p.dtype, device: p.device });
          p.copy_(originals[l]!.add(g.mul(radii[l]! / g.norm().item())));
        }));
        // PGD on the perturbed model, through a context of its own: the same attack, batches and
        // seeds as the shared examples (and the caller's generator state is preserved).
        const perturbed = new DefaultMeasureContext(ctx.model, split === 'train' ? { train: examples } : { test: examples }, ctx.settings);
        try {
          crossEntropies(ctx.model, perturbed.adversarial(split), examples.y, ctx.settings.batchSize).forEach((v, i) => {
            total[i]! += v;
          });
        } finally {
          perturbed.dispose();
        }
      });
    }
  });
  return difference(total.map((s) => s / samples), reference);
}

/** One step of the input attack on a batch: the PGD step of settings.attack. */
function inputStep(adv: Tensor, grad: Tensor, x: Tensor, a: MeasureAttack): Tensor {
  if (a.norm === 'Linf') return projectLinf(adv.add(grad.sign().mul(a.alpha)), x, a.eps);
  const unit = grad.div(perExample(flatNorm(grad, 2).add(1e-10), grad));
  return projectL2(adv.add(unit.mul(a.alpha)), x, a.eps);
}

function worstCaseFlatness(ctx: MeasureContext): MeasureResult {
  const reference = robustLoss(ctx);
  const { x, y } = ctx.examples();
  const start = ctx.adversarial();
  const model = ctx.model;
  const attack = ctx.settings.attack;
  const bs = ctx.settings.batchSize;
  const n = x.shape[0]!;
  const { radius, steps, weightStep } = WORST_CASE_FLATNESS;
  const batches: [number, number][] = [];
  for (let s = 0; s < n; s += bs) batches.push([s, Math.min(bs, n - s)]);
  const final = withWeightsRestored(model, (params, originals) => {
    const norms = originals.map((w) => w.norm().item());
    const nu = params.map((p) => keep(torch.zerosLike(p)));
    const adv = batches.map(([s, len]) => keep(start.narrow(0, s, len).clone()));
    try {
      for (let t = 0; t < steps; t++) {
        tidy(() => {
          const gradNu = params.map((p) => torch.zerosLike(p));
          batches.forEach(([s, len], b) => {
            const xb = x.narrow(0, s, len);
            const [gx, ...gp] = enableGrad(() => {
              const xg = adv[b]!.detach().requiresGrad_(true);
              const loss = F.crossEntropy(model.forward(xg), y.narrow(0, s, len), { reduction: 'none' }).sum();
              return autograd.grad(loss, [xg, ...params], { allowUnused: true });
            });
            noGrad(() => {
              gp.forEach((g, l) => {
                if (g) gradNu[l]!.add_(g);
              });
              const next = keep(inputStep(adv[b]!, gx!, xb, attack));
              adv[b]!.dispose();
              adv[b] = next;
            });
          });
          noGrad(() => params.forEach((p, l) => {
            const r = radius * norms[l]!;
            if (!(r > 0)) return;
            const gn = gradNu[l]!.norm().item();
            if (gn > 0 && Number.isFinite(gn)) nu[l]!.add_(gradNu[l]!.mul((weightStep * norms[l]!) / gn));
            const size = nu[l]!.norm().item();
            if (size > r) nu[l]!.mul_(r / size);
            p.copy_(originals[l]!.add(nu[l]!));
          }));
        });
      }
      return tidy(() => crossEntropies(model, cat(adv, 0), y, bs));
    } finally {
      for (const t of [...nu, ...adv]) t.dispose();
    }
  });
  return difference(final, reference);
}

export const FLATNESS_MEASURES: MeasureDefinition[] = [
  {
    name: 'average-flatness', family: 'flatness',
    description: `E over ${AVERAGE_FLATNESS.samples} random layer-wise relative weight perturbations (‖ν_l‖ = ${AVERAGE_FLATNESS.radius}‖w_l‖) `
      + 'of the robust loss (PGD recomputed) minus the robust loss',
    unit: 'nats', direction: -1, cost: 'expensive', reference: STUTZ,
    compute: averageFlatness,
  },
  {
    name: 'worst-case-flatness', family: 'flatness',
    description: `max over ‖ν_l‖ ≤ ${WORST_CASE_FLATNESS.radius}‖w_l‖ of the robust loss minus the robust loss `
      + `(${WORST_CASE_FLATNESS.steps} steps of joint ascent on weights and inputs)`,
    unit: 'nats', direction: -1, cost: 'moderate', reference: STUTZ,
    compute: worstCaseFlatness,
  },
];
