// Input-gradient norms — Ross & Doshi-Velez, "Improving the Adversarial Robustness and Interpretability
// of Deep Neural Networks by Regularizing their Input Gradients", AAAI 2018 (small input gradients
// make a model harder to attack); measured on clean and on adversarial inputs as Kim, Park, Choi &
// Lee, "Fantastic Robustness Measures", NeurIPS 2023:
//   G_p(x, y) = ‖∇ₓ CE(f(x), y)‖_p,  p ∈ {1, 2},  on x (clean) and on x′ = ctx.adversarial() with label y,
//   reported as the mean over the examples.
// The gradient is that of each example's own loss (the batch loss is the sum, not the mean), so a value
// does not depend on the batch size. Inputs are the [0, 1] images (normalisation lives inside the model).
import { F, type Tensor, tidy } from '@robusta/torch';
import { inputGradient } from '../attacks/gradient.js';
import { flatNorm } from '../attacks/lp.js';
import { mean, perExampleBatches } from './context.js';
import type { MeasureContext, MeasureDefinition } from './types.js';

const PAPER = 'Ross & Doshi-Velez, "Improving the Adversarial Robustness and Interpretability of Deep Neural Networks by '
  + 'Regularizing their Input Gradients", AAAI 2018; on clean and PGD inputs: Kim et al., "Fantastic Robustness Measures", NeurIPS 2023';

/** Per-example L1 and L2 norms of ∇ₓ CE on the clean or the PGD examples of the measured split, computed once. */
function gradientNorms(ctx: MeasureContext, inputs: 'clean' | 'adv'): { l1: number[]; l2: number[] } {
  const split = ctx.settings.split;
  return ctx.memo(`input-gradient:${inputs}:${split}`, () => {
    const { x, y } = ctx.examples(split);
    const points = inputs === 'clean' ? x : ctx.adversarial(split);
    const forward = (t: Tensor): Tensor => ctx.model.forward(t);
    const l1: number[] = [];
    const l2: number[] = [];
    perExampleBatches(x.shape[0]!, ctx.settings.batchSize, (start, len) => tidy(() => {
      const yb = y.narrow(0, start, len);
      const { grad } = inputGradient(forward, points.narrow(0, start, len), (z) => F.crossEntropy(z, yb, { reduction: 'none' }));
      l1.push(...(flatNorm(grad, 1).toFlatArray() as number[]));
      l2.push(...(flatNorm(grad, 2).toFlatArray() as number[]));
      return [];
    }));
    return { l1, l2 };
  });
}

function gradientMeasure(p: 1 | 2, inputs: 'clean' | 'adv'): MeasureDefinition {
  return {
    name: `input-grad-l${p}-${inputs}`, family: 'smoothness', unit: `L${p} norm of dCE/dx`, direction: -1, cost: 'cheap', reference: PAPER,
    description: `mean over the ${inputs === 'clean' ? 'clean' : 'PGD'} examples of ‖∇ₓ CE(f(x), y)‖${p === 1 ? '₁' : '₂'}`,
    compute: (ctx) => {
      const v = gradientNorms(ctx, inputs)[p === 1 ? 'l1' : 'l2'];
      return { value: mean(v), perExample: v };
    },
  };
}

export const INPUT_GRADIENT_MEASURES: MeasureDefinition[] = [
  gradientMeasure(1, 'clean'),
  gradientMeasure(2, 'clean'),
  gradientMeasure(1, 'adv'),
  gradientMeasure(2, 'adv'),
];
