// The RobustBench leaderboard entry layout (robustbench/model_info/<dataset>/<threat>/<model>.json):
// accuracies as percentage strings with two decimals, ε as written on the leaderboard ("8/255" for
// L∞ on images, "0.5" for L2).

export type ThreatModel = 'Linf' | 'L2';

export interface RobustBenchEntry {
  name: string;
  dataset: string;
  threat_model: ThreatModel;
  eps: string;
  clean_acc: string;
  /** null when AutoAttack was not run. */
  autoattack_acc: string | null;
  /** Extra columns of this evaluation: FGSM and PGD-k accuracies (null when not run). */
  fgsm_acc: string | null;
  pgd_acc: string | null;
  pgd_steps: number;
  n_examples: number;
  additional_data: boolean;
  number_forward_passes: number;
}

/** A fraction in [0, 1] as RobustBench writes it: "91.08". */
export const percentString = (v: number): string => (100 * v).toFixed(2);

/** ε as the leaderboard writes it: k/255 when it is one (to 1e-9), else the number. */
export function epsString(eps: number): string {
  const k = eps * 255;
  const r = Math.round(k);
  if (r > 0 && Math.abs(k - r) < 1e-9) return `${r}/255`;
  return String(eps);
}
