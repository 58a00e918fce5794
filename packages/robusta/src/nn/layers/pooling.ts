// Spatial pooling over NCHW input, as torch.nn.MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.
import { F, type Tensor } from '@robusta/torch';
import { Module } from '../module.js';
import { checkPair, formatPair, type Pair } from '../check.js';

export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, o: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = checkPair('MaxPool2d kernelSize', kernelSize, 1);
    this.stride = checkPair('MaxPool2d stride', o.stride ?? this.kernelSize, 1);
    this.padding = checkPair('MaxPool2d padding', o.padding ?? 0, 0);
    this.dilation = checkPair('MaxPool2d dilation', o.dilation ?? 1, 1);
    this.ceilMode = o.ceilMode ?? false;
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode });
  }
  protected override extraRepr(): string {
    return `kernel_size=${formatPair(this.kernelSize)}, stride=${formatPair(this.stride)}, padding=${formatPair(this.padding)}`;
  }
}

export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** Count the zero padding in the average (default true). */
  countIncludePad?: boolean;
}

export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: Pair, o: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = checkPair('AvgPool2d kernelSize', kernelSize, 1);
    this.stride = checkPair('AvgPool2d stride', o.stride ?? this.kernelSize, 1);
    this.padding = checkPair('AvgPool2d padding', o.padding ?? 0, 0);
    this.ceilMode = o.ceilMode ?? false;
    this.countIncludePad = o.countIncludePad ?? true;
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, {
      stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad,
    });
  }
  protected override extraRepr(): string {
    return `kernel_size=${formatPair(this.kernelSize)}, stride=${formatPair(this.stride)}, padding=${formatPair(this.padding)}`;
  }
}

/** Averages each channel onto an outputSize grid, whatever the input size ([1, 1]: global average pooling). */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];
  constructor(outputSize: Pair) {
    super();
    this.outputSize = checkPair('AdaptiveAvgPool2d outputSize', outputSize, 1);
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
  protected override extraRepr(): string {
    return `output_size=${formatPair(this.outputSize)}`;
  }
}
