// Layers that only reshape or pass through: torch.nn.Flatten and torch.nn.Identity.
import type { Tensor } from '@robusta/torch';
import { Module } from '../module.js';

/** Flattens dims startDim..endDim into one (default: all but the batch dim). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  protected override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Returns its input (the same Tensor object): a placeholder that keeps a model's layout. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
