// Losses and accuracies, and the robust generalization gap itself — the quantities the other
// measures are correlated with (Kim, Park, Choi & Lee, "Fantastic Robustness Measures: The Secrets
// of Robust Generalization", NeurIPS 2023):
//   clean loss      = mean_i CE(f(x_i), y_i)                   (on the measured split)
//   adversarial loss = mean_i CE(f(x'_i), y_i),  x'_i = PGD(x_i)
//   clean accuracy  = mean_i [argmax f(x_i) = y_i]              (train and test subsets)
//   PGD accuracy    = mean_i [argmax f(x_i) = y_i ∧ argmax f(x'_i) = y_i]
//   robust gap      = PGD accuracy(train) − PGD accuracy(test)
// An example misclassified when clean counts as not robust (AutoAttack's and robusta's evaluation rule),
// so PGD accuracy here equals robusta's pgdAccuracy with the same seed and batch size.
import { F, type Tensor } from '@robusta/torch';
import { batchedLogits, mean } from './context.js';
import type { MeasureContext, MeasureDefinition, MeasureResult, Split } from './types.js';

const PAPER = 'Kim, Park, Choi & Lee, "Fantastic Robustness Measures: The Secrets of Robust Generalization", NeurIPS 2023';

/** Per-example clean and PGD correctness (1/0) and cross-entropy on a split, computed once. */
function splitStats(ctx: MeasureContext, split: Split): { cleanLoss: number[]; advLoss: number[]; clean: number[]; robust: number[] } {
  return ctx.memo(`accuracy:${split}`, () => {
    const { x, y } = ctx.examples(split);
    const bs = ctx.settings.batchSize;
    const stats = (logits: Tensor) => ({
      loss: F.crossEntropy(logits, y, { reduction: 'none' }).toFlatArray() as number[],
      correct: (logits.argmax(1).eq(y).toFlatArray() as (number | boolean)[]).map(Number),
    });
    const c = stats(batchedLogits(ctx.model, x, bs));
    const a = stats(batchedLogits(ctx.model, ctx.adversarial(split), bs));
    return { cleanLoss: c.loss, advLoss: a.loss, clean: c.correct, robust: c.correct.map((v, i) => v * a.correct[i]!) };
  });
}

const perExampleMean = (v: number[]): MeasureResult => ({ value: mean(v), perExample: v });

function accuracyMeasure(name: string, split: Split, key: 'clean' | 'robust', description: string): MeasureDefinition {
  return {
    name, family: 'accuracy', description, unit: 'fraction', direction: 0, cost: 'cheap', reference: PAPER,
    needs: split === 'test' ? { testSplit: true } : undefined,
    compute: (ctx) => perExampleMean(splitStats(ctx, split)[key]),
  };
}

export const ACCURACY_MEASURES: MeasureDefinition[] = [
  {
    name: 'clean-loss', family: 'accuracy', description: 'cross-entropy on the clean examples of the measured split',
    unit: 'nats', direction: 0, cost: 'cheap', reference: PAPER,
    compute: (ctx) => perExampleMean(splitStats(ctx, ctx.settings.split).cleanLoss),
  },
  {
    name: 'adv-loss', family: 'accuracy', description: 'cross-entropy on the PGD examples of the measured split',
    unit: 'nats', direction: 0, cost: 'cheap', reference: PAPER,
    compute: (ctx) => perExampleMean(splitStats(ctx, ctx.settings.split).advLoss),
  },
  accuracyMeasure('clean-acc-train', 'train', 'clean', 'clean accuracy on the first n training examples'),
  accuracyMeasure('clean-acc-test', 'test', 'clean', 'clean accuracy on the first n test examples'),
  accuracyMeasure('pgd-acc-train', 'train', 'robust', 'PGD accuracy (correct clean and adversarial) on the first n training examples'),
  accuracyMeasure('pgd-acc-test', 'test', 'robust', 'PGD accuracy (correct clean and adversarial) on the first n test examples'),
  {
    name: 'robust-gap', family: 'accuracy', description: 'robust generalization gap: PGD accuracy on train − on test',
    unit: 'fraction', direction: 0, cost: 'cheap', reference: PAPER, needs: { testSplit: true },
    compute: (ctx) => ({ value: mean(splitStats(ctx, 'train').robust) - mean(splitStats(ctx, 'test').robust) }),
  },
  {
    name: 'clean-gap', family: 'accuracy', description: 'standard generalization gap: clean accuracy on train − on test',
    unit: 'fraction', direction: 0, cost: 'cheap', reference: PAPER, needs: { testSplit: true },
    compute: (ctx) => ({ value: mean(splitStats(ctx, 'train').clean) - mean(splitStats(ctx, 'test').clean) }),
  },
];
