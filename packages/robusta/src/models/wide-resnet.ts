// Wide residual networks (Zagoruyko & Komodakis 2016) as RobustBench defines them (after the TRADES
// code): keys conv1, block1..3.layer.N.{bn1, conv1, bn2, conv2, convShortcut}, bn1, fc, optionally
// sub_block1 (present in TRADES checkpoints, unused in forward). WRN-d-k has (d − 4)/6 blocks per
// group and widths 16k, 32k, 64k; 8x8 average pooling (32x32 inputs).
import { F, type Tensor, tidy } from '@robusta/torch';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { chain } from '../nn/chain.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/batchnorm.js';
import { ReLU } from '../nn/layers/activation.js';
import type { Normalize } from '../nn/layers/normalize.js';
import { constant_, normal_, zeros_ } from '../nn/init.js';
import { normalizeLayer, type NormalizationSpec } from './normalization.js';

export class WideBasicBlock extends Module {
  readonly bn1: BatchNorm2d;
  readonly relu1: ReLU;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly relu2: ReLU;
  readonly conv2: Conv2d;
  readonly convShortcut: Conv2d | null;
  readonly equalInOut: boolean;

  constructor(inPlanes: number, outPlanes: number, stride: number, readonly dropRate = 0) {
    super();
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.relu1 = this.registerModule('relu1', new ReLU());
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(outPlanes));
    this.relu2 = this.registerModule('relu2', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(outPlanes, outPlanes, 3, { stride: 1, padding: 1, bias: false }));
    this.equalInOut = inPlanes === outPlanes;
    this.convShortcut = this.equalInOut ? null
      : this.registerModule('convShortcut', new Conv2d(inPlanes, outPlanes, 1, { stride, padding: 0, bias: false }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      // With a projection, the shortcut takes the pre-activated input; the identity the raw one.
      const pre = chain(x, this.bn1, this.relu1);
      const dropout = this.dropRate > 0 ? (t: Tensor) => F.dropout(t, this.dropRate, this.training) : null;
      const out = chain(pre, this.conv1, this.bn2, this.relu2, dropout, this.conv2);
      return (this.convShortcut === null ? x : this.convShortcut.call(pre)).add(out);
    });
  }
}

/** A group of blocks held in `layer`, as RobustBench's NetworkBlock. */
export class NetworkBlock extends Module {
  readonly layer: Sequential;
  constructor(numLayers: number, inPlanes: number, outPlanes: number, stride: number, dropRate = 0) {
    super();
    const blocks: Module[] = [];
    for (let i = 0; i < numLayers; i++) blocks.push(new WideBasicBlock(i === 0 ? inPlanes : outPlanes, outPlanes, i === 0 ? stride : 1, dropRate));
    this.layer = this.registerModule('layer', new Sequential(...blocks));
  }
  forward(x: Tensor): Tensor {
    return this.layer.call(x);
  }
}

export interface WideResNetOptions {
  /** 6n + 4 (28, 34, 70, ...). Default 28. */
  depth?: number;
  /** Default 10. */
  widenFactor?: number;
  /** Default 10. */
  numClasses?: number;
  /** Dropout between the convolutions of each block (default 0). */
  dropRate?: number;
  /** Also hold TRADES' unused sub_block1 so that its checkpoints load strictly. */
  subBlock1?: boolean;
  /** Bias in the final linear layer (default true). */
  biasLast?: boolean;
  /** Standardise the [0, 1] input first (adds no state-dict key). */
  normalize?: NormalizationSpec;
}

export class WideResNet extends Module {
  readonly normalize: Normalize | null;
  readonly conv1: Conv2d;
  readonly block1: NetworkBlock;
  readonly subBlock1: NetworkBlock | null;
  readonly block2: NetworkBlock;
  readonly block3: NetworkBlock;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly fc: Linear;
  readonly channels: number;

  constructor(o: WideResNetOptions = {}) {
    super();
    const depth = o.depth ?? 28;
    const k = o.widenFactor ?? 10;
    if (!Number.isInteger(depth) || depth < 10 || (depth - 4) % 6 !== 0) throw new RangeError(`WideResNet depth must be 6n + 4 (n >= 1), got ${depth}`);
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`WideResNet widenFactor must be a positive integer, got ${k}`);
    const n = (depth - 4) / 6;
    const widths = [16, 16 * k, 32 * k, 64 * k] as const;
    const drop = o.dropRate ?? 0;
    const norm = normalizeLayer(o.normalize, 3);
    this.normalize = norm === null ? null : this.registerModule('normalize', norm);
    this.conv1 = this.registerModule('conv1', new Conv2d(3, widths[0], 3, { stride: 1, padding: 1, bias: false }));
    this.block1 = this.registerModule('block1', new NetworkBlock(n, widths[0], widths[1], 1, drop));
    this.subBlock1 = o.subBlock1 ? this.registerModule('sub_block1', new NetworkBlock(n, widths[0], widths[1], 1, drop)) : null;
    this.block2 = this.registerModule('block2', new NetworkBlock(n, widths[1], widths[2], 2, drop));
    this.block3 = this.registerModule('block3', new NetworkBlock(n, widths[2], widths[3], 2, drop));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(widths[3]));
    this.relu = this.registerModule('relu', new ReLU());
    this.fc = this.registerModule('fc', new Linear(widths[3], o.numClasses ?? 10, { bias: o.biasLast ?? true }));
    this.channels = widths[3];

    // RobustBench/TRADES initialisation: conv ~ N(0, 2 / (k·k·out)), BN 1/0, linear bias 0.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) normal_(m.weight, 0, Math.sqrt(2 / (m.kernelSize[0] * m.kernelSize[1] * m.outChannels)));
      else if (m instanceof BatchNorm2d) {
        constant_(m.weight!, 1);
        zeros_(m.bias!);
      } else if (m instanceof Linear && m.bias !== null) zeros_(m.bias);
    }
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      return chain(x, this.normalize, this.conv1, this.block1, this.block2, this.block3, this.bn1, this.relu,
        (t) => F.avgPool2d(t, 8), (t) => t.reshape(-1, this.channels), this.fc);
    });
  }
}

export const wideResNet28x10 = (o: Omit<WideResNetOptions, 'depth' | 'widenFactor'> = {}): WideResNet =>
  new WideResNet({ ...o, depth: 28, widenFactor: 10 });
export const wideResNet34x10 = (o: Omit<WideResNetOptions, 'depth' | 'widenFactor'> = {}): WideResNet =>
  new WideResNet({ ...o, depth: 34, widenFactor: 10 });
