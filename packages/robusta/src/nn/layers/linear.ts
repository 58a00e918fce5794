// Fully connected layer y = x Wᵀ + b, as torch.nn.Linear (weight [out, in], bias [out]).
import { F, type Tensor } from '@robusta/torch';
import { Module } from '../module.js';
import { checkInt } from '../check.js';
import { emptyParameter } from '../parameter.js';
import { defaultLayerInit_ } from '../init.js';

export interface LinearOptions {
  /** Whether to learn an additive bias (default true). */
  bias?: boolean;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, o: LinearOptions = {}) {
    super();
    this.inFeatures = checkInt('Linear inFeatures', inFeatures, 1);
    this.outFeatures = checkInt('Linear outFeatures', outFeatures, 1);
    this.registerParameter('weight', emptyParameter([outFeatures, inFeatures]));
    this.registerParameter('bias', o.bias === false ? null : emptyParameter([outFeatures]));
    this.resetParameters();
  }

  /** PyTorch's default: weight ~ kaiming_uniform_(a=√5) = U(±1/√in), bias ~ U(±1/√in). */
  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias);
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }

  forward(x: Tensor): Tensor {
    const shape = x.shape;
    if (shape.length === 0 || shape[shape.length - 1] !== this.inFeatures) {
      throw new RangeError(`Linear(${this.inFeatures}, ${this.outFeatures}) expects input [..., ${this.inFeatures}], got [${shape.join(', ')}]`);
    }
    return F.linear(x, this.weight, this.bias);
  }

  protected override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias === null ? 'False' : 'True'}`;
  }
}
