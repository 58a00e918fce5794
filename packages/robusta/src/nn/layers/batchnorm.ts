// Batch normalisation over N, H, W of NCHW input, as torch.nn.BatchNorm2d (Ioffe & Szegedy 2015):
// y = (x − E[x]) / √(Var[x] + eps) · weight + bias. In training mode the batch statistics are used
// and the running ones updated: running = (1 − momentum) · running + momentum · batch (the running
// variance takes the unbiased batch variance); in eval mode the running statistics are used.
import { F, full, ones, type Tensor, zeros } from '@robusta/torch';
import { Module } from '../module.js';
import { checkInt } from '../check.js';
import { emptyParameter } from '../parameter.js';
import { ones_, zeros_ } from '../init.js';

export interface BatchNormOptions {
  /** Added to the variance for stability (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1); null for a cumulative average. */
  momentum?: number | null;
  /** Learn weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true); without them eval uses batch statistics. */
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(numFeatures: number, o: BatchNormOptions = {}) {
    super();
    this.numFeatures = checkInt('BatchNorm2d numFeatures', numFeatures, 1);
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum === undefined ? 0.1 : o.momentum;
    this.affine = o.affine ?? true;
    this.trackRunningStats = o.trackRunningStats ?? true;
    if (!(this.eps > 0)) throw new RangeError(`BatchNorm2d eps must be > 0, got ${this.eps}`);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new RangeError(`BatchNorm2d momentum must be in [0, 1] or null, got ${this.momentum}`);
    }
    this.registerParameter('weight', this.affine ? ones_(emptyParameter([numFeatures])) : null);
    this.registerParameter('bias', this.affine ? zeros_(emptyParameter([numFeatures])) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'int64' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
  }

  get weight(): Tensor | null {
    return this.getParameter('weight');
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }
  get runningMean(): Tensor | null {
    return this.getBuffer('running_mean');
  }
  get runningVar(): Tensor | null {
    return this.getBuffer('running_var');
  }
  get numBatchesTracked(): Tensor | null {
    return this.getBuffer('num_batches_tracked');
  }

  /** Running mean 0, variance 1, count 0. */
  resetRunningStats(): void {
    this.runningMean?.zero_();
    this.runningVar?.fill_(1);
    this.numBatchesTracked?.zero_();
  }

  protected override isOptionalState(localName: string): boolean {
    return localName === 'num_batches_tracked';
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d expects 4-d input [N, C, H, W], got ${x.ndim}-d [${x.shape.join(', ')}]`);
    if (x.shape[1] !== this.numFeatures) {
      throw new RangeError(`BatchNorm2d(${this.numFeatures}) got ${x.shape[1]} channels`);
    }
    let factor = this.momentum ?? 0;
    const counter = this.numBatchesTracked;
    if (this.training && this.trackRunningStats && counter !== null) {
      counter.add_(1);
      if (this.momentum === null) factor = 1 / counter.item();
    }
    const runningMean = this.runningMean;
    const runningVar = this.runningVar;
    // Batch statistics in training mode, and in eval mode when no running statistics are kept.
    const useBatchStats = this.training || (runningMean === null && runningVar === null);
    const track = !this.training || this.trackRunningStats;
    return F.batchNorm(x, track ? runningMean : null, track ? runningVar : null, {
      weight: this.weight, bias: this.bias, training: useBatchStats, momentum: factor, eps: this.eps,
    });
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum ?? 'None'}, affine=${this.affine ? 'True' : 'False'}, ` +
      `track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}
