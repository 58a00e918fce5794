// The robust generalization gap as the robustness-measures study defines it (Kim, Park, Cha, Lee &
// Lee, "Fantastic Robustness Measures: The Good, the Bad, and the Ugly", NeurIPS 2023, the MAIR
// authors): robust accuracy under PGD-10 on the first N training examples minus robust accuracy
// under PGD-10 on the first N test examples (N = 1000),
//   gap = Acc_PGD10(train[0:N]) − Acc_PGD10(test[0:N]).
// A large positive gap is robust overfitting (Rice et al. 2020).
import type { Classifier } from '../attacks/classifier.js';
import type { ExampleSource } from './examples.js';
import { type PgdEvalOptions, pgdAccuracy, pgdSettings } from './pgd-accuracy.js';

export interface GeneralizationGap {
  /** Examples of each split used. */
  trainExamples: number;
  testExamples: number;
  trainRobustAccuracy: number;
  testRobustAccuracy: number;
  /** trainRobustAccuracy − testRobustAccuracy. */
  robustGap: number;
  trainCleanAccuracy: number;
  testCleanAccuracy: number;
  /** trainCleanAccuracy − testCleanAccuracy (the standard generalization gap, for comparison). */
  cleanGap: number;
  attack: { norm: string; eps: number; alpha: number; steps: number };
}

/** Options as for pgdAccuracy; n (default 1000) applies to each split, steps default 10. */
export function robustGeneralizationGap(model: Classifier, train: ExampleSource, test: ExampleSource,
  o: PgdEvalOptions = {}): GeneralizationGap {
  const tr = pgdAccuracy(model, train, o);
  const te = pgdAccuracy(model, test, o);
  return {
    trainExamples: tr.examples,
    testExamples: te.examples,
    trainRobustAccuracy: tr.robustAccuracy,
    testRobustAccuracy: te.robustAccuracy,
    robustGap: tr.robustAccuracy - te.robustAccuracy,
    trainCleanAccuracy: tr.cleanAccuracy,
    testCleanAccuracy: te.cleanAccuracy,
    cleanGap: tr.cleanAccuracy - te.cleanAccuracy,
    attack: pgdSettings(o),
  };
}
