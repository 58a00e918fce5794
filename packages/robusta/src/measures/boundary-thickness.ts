// Boundary thickness — Yang, Khanna, Yu, Gholami, Keutzer, Gonzalez, Ramchandran & Mahoney,
// "Boundary thickness and robustness in learning models", NeurIPS 2020 (Definition 1 and their code,
// measure_thickness.py with attack_functions.PGD_l2):
//   for each x: a class j ≠ y drawn uniformly, x′ = targeted PGD-L2 towards j from x,
//   x_t = x + t (x′ − x),  t ∈ {0, 1/127, …, 1} (128 evenly spaced points, both ends included),
//   g(x_t) = p_ŷ(x_t) − p_j(x_t),  p = softmax(f),  ŷ = argmax f(x),
//   Θ(x) = ‖x′ − x‖₂ · #{t : α < g(x_t) < β} / 128,   α = 0, β = 0.75,
//   reported as the mean over the examples.
// What their code does where the paper is open, and what we do:
// - Every example is measured, correctly classified or not, and the "own" class is the clean
//   prediction ŷ (their y_original_class = softmax[:, pred]); j = (y + U{1, …, C−1}) mod C is drawn
//   from the true label (their wrong_labels), so a misclassified x predicted as j scores 0.
// - The integral of the definition is their Riemann sum: the fraction of the 128 points inside
//   (α, β), both bounds strict, times the segment length.
// - The attack is their PGD_l2 towards j: ε = 1.0, step 0.2, 20 steps, no random start, gradient
//   step g/(‖g‖₂ + 1e-10) on CE(f, j) (robusta's PGDL2, mode 'targeted'). Their ε and step are 1.0
//   and 0.2 times a "normalization factor" 5 ≈ 1/std of CIFAR's normalised inputs, i.e. 1.0 and 0.2
//   in [0, 1] pixel units, which is where robusta's models take their inputs; distances here are in
//   pixel units too (theirs are in normalised units, about 5× larger on CIFAR). Their projection clips
//   to the batch's [min, max] pixel values, robusta's to [0, 1].
// - j comes from torch's generator seeded with settings.seed: one randint(1, C, [n]) for all examples.
// - An example whose probabilities along the segment are not finite (NaN weights) scores NaN.
import * as torch from '@robusta/torch';
import { type Tensor, tidy } from '@robusta/torch';
import { flatNorm } from '../attacks/lp.js';
import { PGDL2 } from '../attacks/pgdl2.js';
import { withRngPreserved } from '../eval/rng.js';
import { batchedLogits, mean, perExampleBatches } from './context.js';
import type { MeasureContext, MeasureDefinition } from './types.js';

const PAPER = 'Yang, Khanna, Yu, Gholami, Keutzer, Gonzalez, Ramchandran & Mahoney, "Boundary thickness and robustness in learning models", NeurIPS 2020';

/** The measurement's constants, from the paper's code (exported for the tests). */
export const BOUNDARY_THICKNESS = { eps: 1.0, alpha: 0.2, steps: 20, points: 128, lower: 0, upper: 0.75 } as const;

/** Per-example boundary thickness on the measured split, computed once. */
function boundaryThickness(ctx: MeasureContext): number[] {
  const split = ctx.settings.split;
  return ctx.memo(`boundary-thickness:${split}`, () => withRngPreserved(() => tidy(() => {
    torch.manualSeed(ctx.settings.seed);
    const { x, y } = ctx.examples(split);
    const n = x.shape[0]!;
    const bs = ctx.settings.batchSize;
    const { points, lower, upper } = BOUNDARY_THICKNESS;
    const cleanLogits = batchedLogits(ctx.model, x, bs);
    const classes = cleanLogits.shape[1]!;
    const predicted = cleanLogits.argmax(1);
    const targets = y.add(torch.randint(1, classes, [n], { device: y.device })).remainder(classes);
    const attack = new PGDL2(ctx.model, { eps: BOUNDARY_THICKNESS.eps, alpha: BOUNDARY_THICKNESS.alpha, steps: BOUNDARY_THICKNESS.steps, randomStart: false, mode: 'targeted' });
    const t = torch.linspace(0, 1, points, { dtype: x.dtype, device: x.device });
    // Segments of a few examples at a time, so that one forward pass holds about batchSize points.
    const group = Math.max(1, Math.floor(bs / points));
    return perExampleBatches(n, bs, (start, len) => tidy(() => {
      const xb = x.narrow(0, start, len);
      const delta = attack.generate(xb, y.narrow(0, start, len), targets.narrow(0, start, len)).sub(xb);
      const length = flatNorm(delta, 2).toFlatArray() as number[];
      const fraction = perExampleBatches(len, group, (s, g) => tidy(() => {
        const x0 = xb.narrow(0, s, g).unsqueeze(1);
        const d = delta.narrow(0, s, g).unsqueeze(1);
        const tt = t.reshape([1, points, ...new Array<number>(xb.ndim - 1).fill(1)]);
        const seg = x0.add(d.mul(tt)).reshape([g * points, ...xb.shape.slice(1)]);
        const p = batchedLogits(ctx.model, seg, g * points).softmax(1).reshape([g, points, classes]);
        const at = (c: Tensor) => p.gather(2, c.reshape([g, 1, 1]).expand([g, points, 1])).squeeze(2);
        const gap = at(predicted.narrow(0, start + s, g)).sub(at(targets.narrow(0, start + s, g)));
        const inside = gap.gt(lower).logicalAnd(gap.lt(upper)).sum(1).toFlatArray() as number[];
        const finite = p.isfinite().all(2).all(1).toFlatArray() as (boolean | number)[];
        return inside.map((c, i) => (finite[i] ? c / points : NaN));
      }));
      return length.map((l, i) => l * fraction[i]!);
    }));
  }), ctx.model.device));
}

export const BOUNDARY_THICKNESS_MEASURES: MeasureDefinition[] = [
  {
    name: 'boundary-thickness', family: 'boundary-thickness', unit: 'L2 distance', direction: 1, cost: 'moderate', reference: PAPER,
    description: 'mean over examples of ‖x′ − x‖₂ × fraction of 128 points x + t(x′ − x) with 0 < p_ŷ − p_j < 0.75, x′ = PGD-L2 (ε 1) towards a random class j',
    compute: (ctx) => {
      const v = boundaryThickness(ctx);
      return { value: mean(v), perExample: v };
    },
  },
];
