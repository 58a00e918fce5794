// Norm-based complexity measures of the weights, as defined by Jiang, Neyshabur, Mobahi, Krishnan &
// Bengio, "Fantastic Generalization Measures and Where to Find Them", ICLR 2020 (Appendix C), with
// the path norm of Neyshabur, Tomioka & Srebro, "Norm-Based Capacity Control in Neural Networks",
// COLT 2015 (and Neyshabur et al., "Exploring Generalization in Deep Learning", NeurIPS 2017), and the
// distance from initialisation of Nagarajan & Kolter, "Generalization in Deep Networks: The Role of
// Distance from Initialization", 2017/2019. For a network with weight layers W_1 … W_d:
//   log-prod-of-fro   = log Π_i ‖W_i‖²_F  (= Σ_i log ‖W_i‖²_F)
//   sum-of-fro        = d · (Π_i ‖W_i‖²_F)^{1/d}   (the product of a balanced network, by the
//                       rescaling invariance of ReLU networks; Σ_i ‖W_i‖²_F ≥ this by AM–GM)
//   param-norm        = Σ_i ‖W_i‖²_F
//   log-prod-of-spec  = log Π_i ‖W_i‖²_2
//   sum-of-spec       = d · (Π_i ‖W_i‖²_2)^{1/d}
//   path-norm         = Σ_paths Π_{w on path} w² = Σ_j f_{w²}(1)_j  (Jiang's squared ℓ2 path norm:
//                       every parameter squared, an all-ones input, the outputs summed; no square root)
//   distance-from-init = ‖w − w⁰‖₂ over all parameters (Nagarajan & Kolter's ‖W − W⁰‖_F; Jiang's
//                       frob-distance Σ_i ‖W_i − W⁰_i‖²_F is its square restricted to the weight layers:
//                       a monotone transform leaves Kendall's τ unchanged)
//   param-count       = ω, the number of parameters (every parameter tensor, BatchNorm's included)
// Every one predicts, per its paper, a larger generalization gap for a larger value (direction −1).
//
// Choices the papers leave open, made here:
// - Weight layers are the weights of Conv2d and Linear modules, in module order. Biases are left
//   out (Jiang et al. and the bounds they come from are stated for weight matrices). BatchNorm
//   parameters are left out and not folded into the preceding convolution: folding needs the graph
//   (which convolution feeds which BatchNorm, not known for a general Module, and undefined for
//   pre-activation blocks). Networks with BatchNorm are scale-invariant in the weights that precede
//   it, so their Frobenius and spectral measures are weak by construction — a known caveat.
// - Conv2d spectral norm: the largest singular value of the kernel reshaped to [out, (in/groups)·kh·kw]
//   (the common choice of Jiang et al.'s reimplementations), computed exactly by SVD
//   (torch.linalg.svdvals), not the operator norm of the convolution on a given input size.
// - Norms are computed in float64 from the stored weights; products are summed as logarithms so
//   deep networks do not overflow. A layer with non-finite weights gives NaN (not an SVD failure).
// - Path norm, treatment of each layer type (the signals of the squared network are ≥ 0 throughout,
//   so each ReLU is the identity and the forward pass sums Π w² over all input-to-output paths,
//   bias paths included):
//     Conv2d, Linear: weight and bias squared;  BatchNorm2d (eval, running statistics, affine): its
//     affine map y = a·x + c (a = γ/√(σ²+ε), c = β − μ·a) replaced by a²·x + c²;  Normalize: the
//     affine map (x − m)/s replaced by x/s² + (m/s)²;  ReLU, Flatten, Identity, Dropout (eval): as they
//     are;  Sequential: composition. Any other module (pooling, other activations, custom blocks
//     whose forward is not a known composition) is refused with a MeasureError naming it: max-pooling
//     has no path-sum form in the classic definition, average pooling would need its 1/k weights
//     squared. The squared values are written into the model's own tensors under noGrad and restored
//     exactly (copied back from clones) in a finally block; BatchNorm's √(σ²+ε) becomes
//     √((1 − ε) + ε), 1 within float rounding.
//   The all-ones input has the shape of one example of the measured split (path-norm reads only the
//   shape of the examples, hence it needs them).
import * as torch from '@robusta/torch';
import { callOp, noGrad, type Tensor, tidy } from '@robusta/torch';
import { BatchNorm2d } from '../nn/layers/batchnorm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { Normalize } from '../nn/layers/normalize.js';
import { ReLU } from '../nn/layers/activation.js';
import { Flatten, Identity } from '../nn/layers/shape.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { type MeasureContext, type MeasureDefinition, MeasureError } from './types.js';

const JIANG = 'Jiang, Neyshabur, Mobahi, Krishnan & Bengio, "Fantastic Generalization Measures and Where to Find Them", ICLR 2020';
const PATH_NORM_PAPER = `Neyshabur, Tomioka & Srebro, "Norm-Based Capacity Control in Neural Networks", COLT 2015; as computed by ${JIANG}`;
const DISTANCE_PAPER = 'Nagarajan & Kolter, "Generalization in Deep Networks: The Role of Distance from Initialization", 2019; '
  + `frob-distance of ${JIANG}`;

/** A Conv2d or Linear weight, by its state-dict name. */
export interface WeightLayer {
  name: string;
  weight: Tensor;
}

/** The weights of the Conv2d and Linear modules, in module order (each module once). */
export function weightLayers(model: Module): WeightLayer[] {
  const out: WeightLayer[] = [];
  for (const [prefix, m] of model.namedModules()) {
    if (m instanceof Conv2d || m instanceof Linear) out.push({ name: prefix === '' ? 'weight' : `${prefix}.weight`, weight: m.weight });
  }
  return out;
}

/** ‖W‖²_F and ‖W‖²_2 of one weight (kernels reshaped to [out, in·kh·kw]), in float64. */
function layerNorms(w: Tensor): { fro2: number; spec2: number } {
  return tidy(() => {
    const m = w.detach().double().reshape([w.shape[0]!, -1]);
    const fro2 = m.square().sum().item();
    if (!m.isfinite().all().item()) return { fro2, spec2: NaN };
    const top = (callOp('aten::linalg_svdvals', [m, null]) as Tensor).max().item();
    return { fro2, spec2: top * top };
  });
}

interface LayerNorms {
  fro2: number[];
  spec2: number[];
}

/** Squared Frobenius and spectral norms of every weight layer, computed once per context. */
function weightNorms(ctx: MeasureContext): LayerNorms {
  return ctx.memo('weight-norms:layers', () => {
    const layers = weightLayers(ctx.model);
    if (layers.length === 0) throw new MeasureError('the model has no Conv2d or Linear weights');
    const norms = layers.map((l) => layerNorms(l.weight));
    return { fro2: norms.map((n) => n.fro2), spec2: norms.map((n) => n.spec2) };
  });
}

const sumOfLogs = (v: number[]): number => v.reduce((a, b) => a + Math.log(b), 0);
/** d · (Π v_i)^{1/d}, through logarithms. */
const balancedSum = (v: number[]): number => v.length * Math.exp(sumOfLogs(v) / v.length);

// ---- path norm ------------------------------------------------------------------------------------

const PATH_NORM_LAYERS = 'Sequential, Conv2d, Linear, BatchNorm2d (affine, running statistics), Normalize, ReLU, Flatten, Identity, Dropout';

/** Refuses a model the squared forward pass would not turn into a sum over paths. */
function checkPathNormSupport(model: Module): void {
  for (const [name, m] of model.namedModules()) {
    const where = name === '' ? 'the model itself' : `'${name}'`;
    if (m instanceof Sequential || m instanceof Conv2d || m instanceof Linear || m instanceof Normalize || m instanceof ReLU
      || m instanceof Flatten || m instanceof Identity || m instanceof Dropout) continue;
    if (m instanceof BatchNorm2d) {
      if (m.weight && m.bias && m.runningMean && m.runningVar) continue;
      throw new MeasureError(`path-norm: BatchNorm2d ${where} needs affine parameters and running statistics`);
    }
    throw new MeasureError(`path-norm: unsupported layer ${where} (${m.constructor.name}); supported: ${PATH_NORM_LAYERS}`);
  }
}

/**
 * Σ_j f_{w²}(1)_j for an input of shape [1, ...inputShape]: the model's tensors are overwritten with
 * their path-norm counterparts (see the file comment) and restored bit-exactly afterwards.
 */
export function pathNorm(model: Module, inputShape: readonly number[]): number {
  checkPathNormSupport(model);
  // Eval mode: BatchNorm must apply its running statistics (and not update them).
  const wasTraining = model.training;
  model.eval();
  const saved: [Tensor, Tensor][] = [];
  const overwrite = (t: Tensor, value: Tensor) => {
    saved.push([t, torch.keep(t.detach().clone())]);
    t.copy_(value);
  };
  try {
    return noGrad(() => tidy(() => {
      const done = new Set<Tensor>();
      const once = (t: Tensor | null, value: (t: Tensor) => Tensor) => {
        if (t === null || done.has(t)) return;
        done.add(t);
        overwrite(t, value(t));
      };
      for (const m of model.modules()) {
        if (m instanceof Conv2d || m instanceof Linear) {
          once(m.weight, (w) => w.square());
          once(m.bias, (b) => b.square());
        } else if (m instanceof BatchNorm2d) {
          const a = m.weight!.div(m.runningVar!.add(m.eps).sqrt());
          const c = m.bias!.sub(m.runningMean!.mul(a));
          once(m.weight, () => a.square());
          once(m.bias, () => c.square());
          once(m.runningMean, (mu) => torch.zerosLike(mu));
          once(m.runningVar, (v) => torch.onesLike(v).sub(m.eps));
        } else if (m instanceof Normalize) {
          // (x − m')/s' = x/s² + (m/s)²  with  s' = s², m' = −m².
          once(m.mean, (mu) => mu.square().neg());
          once(m.std, (s) => s.square());
        }
      }
      const device = model.device;
      return model.forward(torch.ones([1, ...inputShape], { device })).double().sum().item();
    }));
  } finally {
    noGrad(() => {
      for (const [t, original] of saved.reverse()) {
        t.copy_(original);
        original.dispose();
      }
    });
    model.train(wasTraining);
  }
}

// ---- distance from initialisation ----------------------------------------------------------------

/** ‖w − w⁰‖₂ over every parameter; the initial state must match the model's keys and shapes. */
export function distanceFromInit(model: Module, initial: Map<string, Tensor>): number {
  // Every key of a state dict (buffers included; non-persistent ones too, as loadStateDict accepts them).
  const known = new Set([...model.stateDictShapes().keys(), ...model.namedBuffers().map(([k]) => k)]);
  const unexpected = [...initial.keys()].filter((k) => !known.has(k));
  if (unexpected.length > 0) throw new MeasureError(`distance-from-init: the initial weights have keys the model lacks: ${unexpected.join(', ')}`);
  return tidy(() => {
    let total = 0;
    for (const [name, p] of model.namedParameters()) {
      const q = initial.get(name);
      if (q === undefined) throw new MeasureError(`distance-from-init: the initial weights lack '${name}'`);
      if (q.shape.length !== p.shape.length || q.shape.some((s, i) => s !== p.shape[i])) {
        throw new MeasureError(`distance-from-init: '${name}' is [${p.shape.join(', ')}] in the model but [${q.shape.join(', ')}] in the initial weights`);
      }
      total += p.detach().double().sub(q.to({ dtype: 'float64', device: p.device })).square().sum().item();
    }
    return Math.sqrt(total);
  });
}

// ---- the measures ---------------------------------------------------------------------------------

function normMeasure(name: string, description: string, unit: string, value: (n: LayerNorms) => number): MeasureDefinition {
  return {
    name, family: 'weight-norm', description, unit, direction: -1, cost: 'cheap', reference: JIANG, needs: { examples: false },
    compute: (ctx) => ({ value: value(weightNorms(ctx)) }),
  };
}

export const WEIGHT_NORM_MEASURES: MeasureDefinition[] = [
  normMeasure('log-prod-of-fro', 'log Π ‖W_i‖²_F over the Conv2d/Linear weights', 'log squared Frobenius norm', (n) => sumOfLogs(n.fro2)),
  normMeasure('sum-of-fro', 'd·(Π ‖W_i‖²_F)^(1/d) over the d Conv2d/Linear weights', 'squared Frobenius norm', (n) => balancedSum(n.fro2)),
  normMeasure('param-norm', 'Σ ‖W_i‖²_F over the Conv2d/Linear weights', 'squared Frobenius norm', (n) => n.fro2.reduce((a, b) => a + b, 0)),
  normMeasure('log-prod-of-spec', 'log Π ‖W_i‖²_2 over the Conv2d/Linear weights (kernels as [out, in·kh·kw])', 'log squared spectral norm',
    (n) => sumOfLogs(n.spec2)),
  normMeasure('sum-of-spec', 'd·(Π ‖W_i‖²_2)^(1/d) over the d Conv2d/Linear weights (kernels as [out, in·kh·kw])', 'squared spectral norm',
    (n) => balancedSum(n.spec2)),
  {
    name: 'path-norm', family: 'weight-norm', description: 'Σ over input-output paths of Π w² (squared parameters, all-ones input, outputs summed)',
    unit: 'squared path norm', direction: -1, cost: 'cheap', reference: PATH_NORM_PAPER,
    compute: (ctx) => ({ value: pathNorm(ctx.model, ctx.examples().x.shape.slice(1)) }),
  },
  {
    name: 'distance-from-init', family: 'weight-norm', description: '‖w − w⁰‖₂ over all parameters (w⁰: the weights at initialisation)',
    unit: 'L2 distance', direction: -1, cost: 'cheap', reference: DISTANCE_PAPER, needs: { examples: false, initialWeights: true },
    compute: (ctx) => {
      if (!ctx.initialState) throw new MeasureError('distance-from-init needs the initial weights');
      return { value: distanceFromInit(ctx.model, ctx.initialState) };
    },
  },
  {
    name: 'param-count', family: 'weight-norm', description: 'number of parameters (all parameter tensors)',
    unit: 'count', direction: -1, cost: 'cheap', reference: JIANG, needs: { examples: false },
    compute: (ctx) => ({ value: ctx.model.numParameters() }),
  },
];
