// KL divergence between the predictions on clean and on adversarial inputs — the smoothness term of
// TRADES (Zhang, Yu, Jiao, Xing, El Ghaoui & Jordan, "Theoretically Principled Trade-off between
// Robustness and Accuracy", ICML 2019), used as a robustness measure by Kim, Park, Choi & Lee,
// "Fantastic Robustness Measures", NeurIPS 2023:
//   KL(p(x) ‖ p(x′)) = Σ_k p_k(x) (log p_k(x) − log p_k(x′)),   p = softmax(f),   x′ = ctx.adversarial(),
//   reported as the mean over the examples (TRADES' KLDivLoss(log p(x′), p(x)) summed over classes).
// x′ are the shared PGD examples of settings.attack (cross-entropy PGD, not TRADES' KL-PGD), so this
// measures how far the gap's own attack moves the prediction. Computed from log-softmax on both sides
// so that tiny probabilities do not lose precision.
import { tidy } from '@robusta/torch';
import { batchedLogits, mean } from './context.js';
import type { MeasureContext, MeasureDefinition } from './types.js';

const PAPER = 'Zhang et al., "Theoretically Principled Trade-off between Robustness and Accuracy" (TRADES), ICML 2019; '
  + 'as a measure: Kim et al., "Fantastic Robustness Measures", NeurIPS 2023';

/** Per-example KL(p(x) ‖ p(x′)) on the measured split, in nats. */
function klCleanAdv(ctx: MeasureContext): number[] {
  const split = ctx.settings.split;
  return ctx.memo(`kl-divergence:${split}`, () => tidy(() => {
    const { x } = ctx.examples(split);
    const bs = ctx.settings.batchSize;
    const logP = batchedLogits(ctx.model, x, bs).logSoftmax(1);
    const logQ = batchedLogits(ctx.model, ctx.adversarial(split), bs).logSoftmax(1);
    return logP.exp().mul(logP.sub(logQ)).sum(1).toFlatArray() as number[];
  }));
}

export const KL_DIVERGENCE_MEASURES: MeasureDefinition[] = [
  {
    name: 'kl-clean-adv', family: 'smoothness', unit: 'nats', direction: -1, cost: 'cheap', reference: PAPER,
    description: 'mean over examples of KL(softmax f(x) ‖ softmax f(x′)), x′ the PGD examples (TRADES\' smoothness term)',
    compute: (ctx) => {
      const v = klCleanAdv(ctx);
      return { value: mean(v), perExample: v };
    },
  },
];
