// Granulated Kendall's τ (Jiang, Neyshabur, Mobahi, Krishnan & Bengio, "Fantastic Generalization
// Measures and Where to Find Them", ICLR 2020, section 4), which the robustness-measures study (Kim,
// Park, Choi & Lee, NeurIPS 2023) reports beside the plain τ: a measure can correlate with the gap
// over all models only because both follow one hyper-parameter; Ψ asks, axis by axis, whether the
// measure tracks the gap when that one axis changes and everything else is held fixed.
//
// Jiang et al.: models are trained on a grid Θ = Θ₁ × … × Θ_k of hyper-parameter values; for axis i,
//   ψ_i = (1/m_i) Σ_{θ₁∈Θ₁} … Σ_{θ_{i−1}} Σ_{θ_{i+1}} … Σ_{θ_k}  τ( ∪_{θ_i∈Θ_i} {(μ(θ), g(θ))} ),
//   m_i = |Θ₁ × … × Θ_{i−1} × Θ_{i+1} × … × Θ_k|,        Ψ = (1/k) Σ_i ψ_i,
// i.e. ψ_i averages, over every combination of the OTHER hyper-parameters, the τ between measure μ and
// gap g of the models that differ only in axis i. Their τ is the sign average
// τ(T) = Σ_{a≠b} sign(μ_a − μ_b)·sign(g_a − g_b) / (|T|(|T| − 1)) (τ-a).
//
// What they leave open, and what is chosen here:
//  - Missing cells (a model that was not trained or was filtered out): their sum assumes a full grid.
//    Here a group is whatever models share the other axes' values; groups with fewer than 2 models,
//    or whose models all share the same axis-i value (replicates of one cell, e.g. seeds), are not
//    counted — they hold no pair that differs in axis i.
//  - Ties: τ here is τ-b as scipy.stats.kendalltau computes it (kendall.ts), the τ the study reports
//    overall. Without ties it equals Jiang's τ-a; with ties τ-b divides by the untied pairs instead.
//    A group where the measure or the gap is constant has no τ-b (NaN, where τ-a would say 0) and is
//    skipped; NaN measures or gaps drop those models from their group first.
//  - Replicates: several models in one cell (same settings, other seed) are all kept in the group,
//    so pairs within a cell (tied in axis i) also enter τ.
//  - ψ_i = NaN when no group has a τ; Ψ = mean of the ψ_i that are numbers (NaN if none).
// Setting values are compared by type and value: 1, "1" and true are three different values.

import { kendallTauB } from './kendall.js';

export type SettingValue = string | number | boolean;

/** One trained model: its settings (one value per axis), its measure value and its generalization gap. */
export interface ModelPoint {
  settings: Readonly<Record<string, SettingValue>>;
  measure: number;
  gap: number;
}

/** ψ_i of one axis, with the number of groups whose τ entered the mean and of the models in them. */
export interface AxisTau {
  tau: number;
  groups: number;
  models: number;
}

export interface GranulatedTau {
  perAxis: Record<string, AxisTau>;
  /** Ψ: the mean of the per-axis ψ_i that are numbers. */
  mean: number;
}

/** Jiang et al.'s granulated Kendall τ of measure vs gap over the given setting axes (see the file comment). */
export function granulatedTau(points: readonly ModelPoint[], axes: readonly string[]): GranulatedTau {
  if (new Set(axes).size !== axes.length) throw new RangeError(`granulatedTau: repeated axis in [${axes.join(', ')}]`);
  for (const p of points) {
    for (const axis of axes) {
      if (!Object.prototype.hasOwnProperty.call(p.settings, axis)) {
        throw new RangeError(`granulatedTau: a model has no value for axis "${axis}" (settings: ${JSON.stringify(p.settings)})`);
      }
    }
  }
  const perAxis: Record<string, AxisTau> = {};
  const psis: number[] = [];
  for (const axis of axes) {
    const others = axes.filter((a) => a !== axis);
    const groups = new Map<string, ModelPoint[]>();
    for (const p of points) {
      const key = JSON.stringify(others.map((a) => valueKey(p.settings[a]!)));
      const group = groups.get(key);
      if (group) group.push(p);
      else groups.set(key, [p]);
    }
    let sum = 0;
    let counted = 0;
    let models = 0;
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const first = valueKey(group[0]!.settings[axis]!);
      if (group.every((p) => valueKey(p.settings[axis]!) === first)) continue;
      const { tau, n } = kendallTauB(group.map((p) => p.measure), group.map((p) => p.gap));
      if (Number.isNaN(tau)) continue;
      sum += tau;
      counted++;
      models += n;
    }
    const psi = counted > 0 ? sum / counted : NaN;
    perAxis[axis] = { tau: psi, groups: counted, models };
    if (!Number.isNaN(psi)) psis.push(psi);
  }
  const mean = psis.length > 0 ? psis.reduce((a, b) => a + b, 0) / psis.length : NaN;
  return { perAxis, mean };
}

/**
 * Kendall τ-b of measure vs gap within each group of models named by `key` (e.g. the defense method);
 * `n` is the number of models with both values that entered τ. Groups appear in first-seen order.
 */
export function tauByGroup<P extends { measure: number; gap: number }>(
  points: readonly P[],
  key: (point: P) => string,
): Record<string, { tau: number; n: number }> {
  const groups = new Map<string, P[]>();
  for (const p of points) {
    const k = key(p);
    const group = groups.get(k);
    if (group) group.push(p);
    else groups.set(k, [p]);
  }
  const out: Record<string, { tau: number; n: number }> = {};
  for (const [k, group] of groups) {
    const { tau, n } = kendallTauB(group.map((p) => p.measure), group.map((p) => p.gap));
    out[k] = { tau, n };
  }
  return out;
}

/** A key that keeps 1, "1" and true apart. */
function valueKey(v: SettingValue): string {
  return `${typeof v}:${String(v)}`;
}
