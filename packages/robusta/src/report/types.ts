// What a study report shows: every model with its settings, gap and measures, and the correlation
// table. The study (robusta/study) assembles it from its store; the report only renders it.

/** One trained (or given) model of the study, at one checkpoint. */
export interface ReportModel {
  /** Stable id (the run id in the store, with the checkpoint: 'a1b2c3d4/best'). */
  id: string;
  /** Short human label: 'at · mnist-cnn · n=2000 · best'. */
  label: string;
  /** Training-setting axis → value (the axes that vary in the study), e.g. {defense: 'at', checkpoint: 'best'}. */
  settings: Record<string, string | number | boolean>;
  /** The defense method (colour of the scatter plots). */
  defense: string;
  trainRobustAccuracy: number;
  testRobustAccuracy: number;
  /** trainRobustAccuracy − testRobustAccuracy. */
  gap: number;
  /** Measure name → value (NaN or absent where it could not be computed). */
  measures: Record<string, number>;
}

export interface ReportMeasure {
  name: string;
  family: string;
  unit: string;
  /** +1: its paper predicts a larger value ↔ smaller gap; −1: larger gap; 0: no claim. */
  direction: 1 | -1 | 0;
  description: string;
}

/** Kendall τ with a bootstrap confidence interval over the models it was computed on. */
export interface TauCell {
  tau: number;
  /** Bootstrap interval (e.g. 95 %); NaN when not computed. */
  low: number;
  high: number;
  /** Models used. */
  n: number;
}

export interface ReportTauRow {
  measure: string;
  /** τ between the measure and the gap over all models. */
  overall: TauCell;
  /** τ within each defense method. */
  perDefense: Record<string, TauCell>;
  /** Granulated τ (Jiang et al. 2019, ψ) per axis, NaN where no group had two models. */
  granulated: Record<string, number>;
  /** Mean of the granulated τ over the axes (Ψ). */
  granulatedMean: number;
}

export interface StudyReportData {
  title: string;
  /** ISO time the report was made. */
  createdAt: string;
  study: { name: string; dataset: string; description?: string; specHash?: string };
  /** The axes the models vary over (columns of the granulated τ). */
  axes: string[];
  /** The defense methods present (order of colours and columns). */
  defenses: string[];
  models: ReportModel[];
  measures: ReportMeasure[];
  tau: ReportTauRow[];
  /** Free-form lines shown under the title (seconds per model, machine, ...). */
  notes?: string[];
}
