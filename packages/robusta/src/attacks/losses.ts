// Per-example objectives the attacks maximise (or the margins they drive below zero).
import { F, type Tensor } from '@robusta/torch';

/** z_c for each row: logits[i, classes[i]], shape [N]. */
export function pick(logits: Tensor, classes: Tensor): Tensor {
  return logits.gather(1, classes.unsqueeze(1)).squeeze(1);
}

/** max_{j ≠ c} z_j for each row, shape [N]. */
export function maxOther(logits: Tensor, classes: Tensor): Tensor {
  return logits.scatter(1, classes.unsqueeze(1), -Infinity).amax(1);
}

/** z_c - max_{j ≠ c} z_j: positive while class c wins. */
export function margin(logits: Tensor, classes: Tensor): Tensor {
  return pick(logits, classes).sub(maxOther(logits, classes));
}

/**
 * The objective of gradient attacks with cross-entropy: CE(z, y) untargeted, -CE(z, t) targeted
 * (ascending it moves towards the target class). Per example, shape [N].
 */
export function crossEntropyObjective(logits: Tensor, labels: Tensor, targets: Tensor | null): Tensor {
  if (targets) return F.crossEntropy(logits, targets, { reduction: 'none' }).neg();
  return F.crossEntropy(logits, labels, { reduction: 'none' });
}

/**
 * Difference of Logits Ratio (Croce & Hein 2020, eq. 5), to be maximised:
 *   DLR(z, y) = -(z_y - max_{i≠y} z_i) / (z_π1 - z_π3 + 1e-12),  π = classes by decreasing logit.
 * Shift- and scale-invariant in the logits. Needs at least 3 classes.
 */
export function dlrLoss(logits: Tensor, labels: Tensor): Tensor {
  const sorted = logits.sort(1, true).values;
  const top1 = sorted.select(1, 0);
  const top3 = sorted.select(1, 2);
  return margin(logits, labels).neg().div(top1.sub(top3).add(1e-12));
}

/**
 * Targeted DLR (Croce & Hein 2020, eq. 6), to be maximised:
 *   -(z_y - z_t) / (z_π1 - (z_π3 + z_π4)/2 + 1e-12). Needs at least 4 classes.
 */
export function targetedDlrLoss(logits: Tensor, labels: Tensor, targets: Tensor): Tensor {
  const sorted = logits.sort(1, true).values;
  const denom = sorted.select(1, 0).sub(sorted.select(1, 2).add(sorted.select(1, 3)).mul(0.5)).add(1e-12);
  return pick(logits, labels).sub(pick(logits, targets)).neg().div(denom);
}
