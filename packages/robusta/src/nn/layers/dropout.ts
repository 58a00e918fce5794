// Dropout (Srivastava et al. 2014): in training mode zeroes each element with probability p and
// scales the rest by 1/(1 − p); the identity in eval mode.
import { F, type Tensor } from '@robusta/torch';
import { Module } from '../module.js';
import { checkProbability } from '../check.js';

export class Dropout extends Module {
  readonly p: number;
  constructor(p = 0.5) {
    super();
    this.p = checkProbability('Dropout p', p);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}
