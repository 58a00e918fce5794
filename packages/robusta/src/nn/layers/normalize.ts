// Per-channel input standardisation (x − mean) / std as a model's first layer, so that models and
// attacks work on [0, 1] pixels as in torchattacks and RobustBench.
//
// State-dict policy: mean and std are buffers — they follow .to(device) — but NOT persistent by
// default, so a zoo model with a Normalize keeps exactly PyTorch's keys (conv1.weight, ...) and
// Sequential(Normalize, net) saves "1.conv1.weight" ... like a PyTorch wrapper whose normaliser
// holds no state. Loading accepts checkpoints that do carry them (RobustBench's ImageNormalizer
// saves "normalize.mean"/"normalize.std", shape [1, C, 1, 1]; others save [C]): they are loaded.
// Pass {persistent: true} to save them too (RobustBench's layout).
import { tensor, type Tensor } from '@robusta/torch';
import { Module } from '../module.js';

export interface NormalizeOptions {
  /** Put mean and std in the state dict (default false). */
  persistent?: boolean;
}

export class Normalize extends Module {
  readonly channels: number;

  constructor(mean: readonly number[], std: readonly number[], o: NormalizeOptions = {}) {
    super();
    if (!Array.isArray(mean) || !Array.isArray(std) || mean.length === 0 || mean.length !== std.length) {
      throw new RangeError(`Normalize needs mean and std arrays of the same non-zero length, got ${mean?.length} and ${std?.length}`);
    }
    for (const s of std) if (!(s > 0)) throw new RangeError(`Normalize std values must be > 0, got ${s}`);
    for (const m of mean) if (!Number.isFinite(m)) throw new RangeError(`Normalize mean values must be finite, got ${m}`);
    this.channels = mean.length;
    const shape = [1, mean.length, 1, 1];
    const persistent = o.persistent ?? false;
    this.registerBuffer('mean', tensor([...mean], { shape }), { persistent });
    this.registerBuffer('std', tensor([...std], { shape }), { persistent });
  }

  get mean(): Tensor {
    return this.buffer('mean');
  }
  get std(): Tensor {
    return this.buffer('std');
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || (x.shape[1] !== this.channels && this.channels !== 1)) {
      throw new RangeError(`Normalize(${this.channels} channels) expects input [N, ${this.channels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const centred = x.sub(this.mean);
    const out = centred.div(this.std);
    centred.dispose();
    return out;
  }

  protected override extraRepr(): string {
    const values = (t: Tensor): string => t.toFlatArray().map((v) => Number(v.toPrecision(6))).join(', ');
    return `mean=[${values(this.mean)}], std=[${values(this.std)}]`;
  }
}
