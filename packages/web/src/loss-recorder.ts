// The playground's live loss curve without touching any attack: the attack gets the model wrapped in
// a classifier that passes every call through and, for a one-image batch, records the cross-entropy
// of the label (and of the target) at the point queried — an attack step when the call records a
// gradient, a scoring query otherwise (the clean and final predictions, Square's queries).
// Calls on several images at once (none of the single-image attacks make them) are passed through
// unrecorded.
import { F, isGradEnabled, noGrad, type Tensor, tensor, tidy } from '@robusta/torch';
import type { attacks } from 'robusta';
import type { LossPoint } from './attack-protocol.js';

export class LossRecordingClassifier implements attacks.Classifier {
  private calls = 0;
  private pending: LossPoint[] = [];
  private lastFlush = 0;

  /**
   * label/target: the classes whose cross-entropy is recorded; flush receives the points recorded
   * since the last flush, at most every intervalMs (and once more from flush()).
   */
  constructor(
    private readonly model: attacks.Classifier,
    private readonly label: number,
    private readonly target: number | null,
    private readonly onPoints: (points: LossPoint[]) => void,
    private readonly intervalMs = 100,
  ) {}

  get training(): boolean {
    return this.model.training;
  }

  train(mode?: boolean): unknown {
    return this.model.train(mode);
  }

  eval(): unknown {
    return this.model.eval();
  }

  forward(x: Tensor): Tensor {
    const out = this.model.forward(x);
    if (out.ndim === 2 && out.shape[0] === 1) this.record(out, isGradEnabled());
    return out;
  }

  /** Sends what is pending. */
  flush(): void {
    if (this.pending.length === 0) return;
    const points = this.pending;
    this.pending = [];
    this.lastFlush = Date.now();
    this.onPoints(points);
  }

  /** Records logits the caller computed from the model (a query: no gradient). */
  recordQuery(logits: Tensor): void {
    this.record(logits, false);
  }

  private record(logits: Tensor, gradient: boolean): void {
    const [loss, targetLoss] = tidy(() => noGrad(() => {
      const z = logits.detach();
      const ce = (k: number) => F.crossEntropy(z, tensor([k], { dtype: 'int64' })).item();
      return [ce(this.label), this.target === null ? null : ce(this.target)];
    }));
    this.pending.push({ call: ++this.calls, loss: loss!, targetLoss: targetLoss ?? null, gradient });
    if (Date.now() - this.lastFlush >= this.intervalMs) this.flush();
  }
}
