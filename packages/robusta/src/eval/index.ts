// robusta/eval: RobustBench-style robustness reports and robustness measures.
export { type ExampleSource, type IndexedExamples, firstExamples } from './examples.js';
export { withRngPreserved } from './rng.js';
export { pgdAccuracy, pgdSettings, makePgd, type PgdEvalOptions, type PgdEvalResult } from './pgd-accuracy.js';
export { robustGeneralizationGap, type GeneralizationGap } from './generalization-gap.js';
export { type RobustBenchEntry, type ThreatModel, percentString, epsString } from './robustbench.js';
export { benchmarkRobustness, formatBenchmarkTable, type BenchmarkOptions, type BenchmarkReport, type BenchmarkAttack, type NamedAttack } from './benchmark.js';
