// Margins: how far the examples are from the decision boundary, in the output and in the input.
//
// Output margin (Jiang, Neyshabur, Mobahi, Krishnan & Bengio, "Fantastic Generalization Measures and
// Where to Find Them", ICLR 2020; Elsayed, Krishnan, Mobahi, Regan & Bengio, "Large Margin Deep
// Networks for Classification", NeurIPS 2018), on clean and on PGD inputs as Kim, Park, Choi & Lee,
// "Fantastic Robustness Measures", NeurIPS 2023:
//   γ(x, y) = f_y(x) − max_{j≠y} f_j(x)          (logits; negative when x is misclassified)
//   reported as the mean over the examples and as the 10th percentile (Jiang et al.'s robust
//   statistic; linear interpolation between order statistics, as numpy/torch.quantile).
//   The adversarial version uses x′ = ctx.adversarial() with the true label y.
//
// Input margin (Elsayed et al.: the distance to the decision boundary in input space):
//   d_p(x) = min { ‖δ‖_p : argmax f(x + δ) ≠ y, x + δ ∈ [0, 1]^d },
//   estimated by the smallest flipping perturbation an attack finds:
//   - L2: DeepFool (Moosavi-Dezfooli et al. 2016; at most 50 steps, overshoot 0.02 — their code's values),
//     d = ‖x_DF − x‖₂, which includes the 2 % overshoot and the clipping to [0, 1];
//   - L∞: FAB (Croce & Hein 2020), untargeted, 100 iterations (as AutoAttack runs it; robusta's default 10 is
//     torchattacks' quick setting),
//     one run from x itself (no random restart, so no random draw), α_max 0.1, η 1.05, β 0.9,
//     and ε = 1 (the whole image box) so that every flipping point FAB finds is kept.
//   Choices the papers leave open:
//   - an example misclassified when clean has margin 0 (it is already across the boundary);
//   - an example the attack fails to flip has no known margin: its per-example value is NaN and it
//     is left out of the mean (the value is the mean over the examples with a known margin);
//   - an example whose clean logits are not finite (NaN weights) has margin NaN.
import { tidy } from '@robusta/torch';
import { DeepFool } from '../attacks/deepfool.js';
import { FAB } from '../attacks/fab.js';
import { margin } from '../attacks/losses.js';
import { flatNorm } from '../attacks/lp.js';
import { batchedLogits, mean, perExampleBatches, quantile } from './context.js';
import type { MeasureContext, MeasureDefinition, MeasureResult } from './types.js';

const OUTPUT_MARGIN_PAPER = 'Jiang et al., "Fantastic Generalization Measures and Where to Find Them", ICLR 2020; '
  + 'Elsayed et al., "Large Margin Deep Networks for Classification", NeurIPS 2018; on PGD inputs: Kim et al., NeurIPS 2023';
const INPUT_MARGIN_PAPER = 'Elsayed et al., "Large Margin Deep Networks for Classification", NeurIPS 2018 (input-space margin); '
  + 'DeepFool: Moosavi-Dezfooli et al., CVPR 2016; FAB: Croce & Hein, ICML 2020';

/** The attacks that estimate the input margins (exported for the tests). */
export const INPUT_MARGIN_DEEPFOOL = { steps: 50, overshoot: 0.02 } as const;
export const INPUT_MARGIN_FAB = { norm: 'Linf', eps: 1, steps: 100, nRestarts: 1, alphaMax: 0.1, eta: 1.05, beta: 0.9 } as const;

/** Per-example output margins on the clean or the PGD examples of the measured split, computed once. */
function outputMargins(ctx: MeasureContext, inputs: 'clean' | 'adv'): number[] {
  const split = ctx.settings.split;
  return ctx.memo(`margins:output:${inputs}:${split}`, () => tidy(() => {
    const { x, y } = ctx.examples(split);
    const logits = batchedLogits(ctx.model, inputs === 'clean' ? x : ctx.adversarial(split), ctx.settings.batchSize);
    return margin(logits, y).toFlatArray() as number[];
  }));
}

/**
 * Per-example input margins: 0 if misclassified, ‖x_adv − x‖_p if the attack flipped the label,
 * NaN if it did not (or the logits are not finite).
 */
function inputMargins(ctx: MeasureContext, norm: 'L2' | 'Linf'): number[] {
  const split = ctx.settings.split;
  return ctx.memo(`margins:input:${norm}:${split}`, () => {
    const { x, y } = ctx.examples(split);
    const attack = norm === 'L2' ? new DeepFool(ctx.model, INPUT_MARGIN_DEEPFOOL) : new FAB(ctx.model, INPUT_MARGIN_FAB);
    return perExampleBatches(x.shape[0]!, ctx.settings.batchSize, (start, len) => tidy(() => {
      const xb = x.narrow(0, start, len);
      const yb = y.narrow(0, start, len);
      // One clean pass serves the finiteness check and the attack (which would otherwise make its own).
      const cleanLogits = batchedLogits(ctx.model, xb, len);
      const r = attack.run(xb, yb, undefined, { cleanLogits });
      const finite = cleanLogits.isfinite().all(1).toFlatArray() as (boolean | number)[];
      const distance = flatNorm(r.adv.sub(xb), norm === 'L2' ? 2 : Infinity).toFlatArray() as number[];
      const wrong = r.cleanPred.ne(yb).toFlatArray() as (boolean | number)[];
      const flipped = r.success.toFlatArray() as (boolean | number)[];
      return distance.map((d, i) => (!finite[i] ? NaN : wrong[i] ? 0 : flipped[i] ? d : NaN));
    }));
  });
}

const meanOf = (v: number[]): MeasureResult => ({ value: mean(v), perExample: v });
const p10Of = (v: number[]): MeasureResult => ({ value: quantile(v, 0.1), perExample: v });
/** Mean over the examples with a known margin (attack failures, NaN, left out). */
function knownMean(v: number[]): MeasureResult {
  const known = v.filter((d) => !Number.isNaN(d));
  return { value: mean(known), perExample: v };
}

function outputMargin(name: string, inputs: 'clean' | 'adv', stat: 'mean' | 'p10'): MeasureDefinition {
  const where = inputs === 'clean' ? 'clean examples' : 'PGD examples (settings.attack)';
  return {
    name, family: 'margin', unit: 'logit', direction: 1, cost: 'cheap', reference: OUTPUT_MARGIN_PAPER,
    description: `${stat === 'mean' ? 'mean' : '10th percentile'} over the ${where} of f_y(x) − max_{j≠y} f_j(x)`,
    compute: (ctx) => (stat === 'mean' ? meanOf : p10Of)(outputMargins(ctx, inputs)),
  };
}

export const MARGIN_MEASURES: MeasureDefinition[] = [
  outputMargin('output-margin-clean', 'clean', 'mean'),
  outputMargin('output-margin-clean-p10', 'clean', 'p10'),
  outputMargin('output-margin-adv', 'adv', 'mean'),
  outputMargin('output-margin-adv-p10', 'adv', 'p10'),
  {
    name: 'input-margin-l2', family: 'margin', unit: 'L2 distance', direction: 1, cost: 'moderate', reference: INPUT_MARGIN_PAPER,
    description: 'mean L2 size of the DeepFool perturbation that flips the prediction (0 if misclassified; attack failures left out)',
    compute: (ctx) => knownMean(inputMargins(ctx, 'L2')),
  },
  {
    name: 'input-margin-linf', family: 'margin', unit: 'Linf distance', direction: 1, cost: 'expensive', reference: INPUT_MARGIN_PAPER,
    description: 'mean L∞ size of the smallest flipping perturbation FAB finds (0 if misclassified; attack failures left out)',
    compute: (ctx) => knownMean(inputMargins(ctx, 'Linf')),
  },
];
