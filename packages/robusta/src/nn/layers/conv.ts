// 2-d convolution, as torch.nn.Conv2d (weight [out, in/groups, kh, kw], optional bias [out]).
import { F, type Tensor } from '@robusta/torch';
import { Module } from '../module.js';
import { checkInt, checkPair, formatPair, type Pair } from '../check.js';
import { emptyParameter } from '../parameter.js';
import { defaultLayerInit_ } from '../init.js';

export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding on each side (default 0). */
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Whether to learn an additive bias (default true). */
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, o: Conv2dOptions = {}) {
    super();
    this.inChannels = checkInt('Conv2d inChannels', inChannels, 1);
    this.outChannels = checkInt('Conv2d outChannels', outChannels, 1);
    this.kernelSize = checkPair('Conv2d kernelSize', kernelSize, 1);
    this.stride = checkPair('Conv2d stride', o.stride ?? 1, 1);
    this.padding = checkPair('Conv2d padding', o.padding ?? 0, 0);
    this.dilation = checkPair('Conv2d dilation', o.dilation ?? 1, 1);
    this.groups = checkInt('Conv2d groups', o.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new RangeError(`Conv2d: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    }
    this.registerParameter('weight', emptyParameter([outChannels, inChannels / this.groups, ...this.kernelSize]));
    this.registerParameter('bias', o.bias === false ? null : emptyParameter([outChannels]));
    this.resetParameters();
  }

  /**
   * PyTorch's default: weight ~ kaiming_uniform_(a=√5), i.e. U(±1/√fan_in); bias ~ U(±1/√fan_in).
   * Drawn weight first, then bias, as PyTorch does, so a seed gives PyTorch's exact values.
   */
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
    if ((shape.length !== 4 && shape.length !== 3) || shape[shape.length - 3] !== this.inChannels) {
      throw new RangeError(`Conv2d(${this.inChannels}, ${this.outChannels}) expects input [N, ${this.inChannels}, H, W], got [${shape.join(', ')}]`);
    }
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  protected override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${formatPair(this.kernelSize)}, stride=${formatPair(this.stride)}`;
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${formatPair(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${formatPair(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}
