// robusta/stats: the correlation statistics of the robustness-measures study — Kendall's τ-b with its
// p-value, Jiang et al.'s granulated τ, τ within groups, and a seeded percentile-bootstrap interval.
// Pure math: imports nothing from the rest of robusta nor from @robusta/torch.
export { kendallTauB, type KendallResult } from './kendall.js';
export { granulatedTau, tauByGroup, type ModelPoint, type SettingValue, type AxisTau, type GranulatedTau } from './granulated.js';
export { bootstrapTauInterval, type BootstrapOptions, type Interval } from './bootstrap.js';
export { createRng, type Rng } from './random.js';
export { quantileSorted } from './quantile.js';
