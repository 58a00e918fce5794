// ResNet-18/34/50 (He et al. 2016, "Deep Residual Learning") laid out exactly as torchvision 0.14:
// conv1, bn1, relu, maxpool, layer1..layer4 of BasicBlock/Bottleneck (stride on the 3x3 conv, "v1.5",
// shortcut projections as downsample.0 conv + downsample.1 bn), avgpool, fc — so torchvision's
// state dicts load unchanged. Modules are built and initialised in torchvision's order, so the same
// seed gives torchvision's exact initial weights. The 'cifar' stem swaps the 7x7/2 conv and max-pool
// for a 3x3/1 conv (keys unchanged, conv1.weight [64, 3, 3, 3]) for 32x32 inputs.
import { F, type Tensor, tidy } from '@robusta/torch';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { chain } from '../nn/chain.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/batchnorm.js';
import { ReLU } from '../nn/layers/activation.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { Identity } from '../nn/layers/shape.js';
import type { Normalize } from '../nn/layers/normalize.js';
import { constant_, kaimingNormal_ } from '../nn/init.js';
import { normalizeLayer, type NormalizationSpec } from './normalization.js';

const conv3x3 = (inPlanes: number, outPlanes: number, stride = 1): Conv2d =>
  new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
const conv1x1 = (inPlanes: number, outPlanes: number, stride = 1): Conv2d =>
  new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });

/** Two 3x3 convolutions with a residual connection (ResNet-18/34). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Module | null;

  constructor(inPlanes: number, planes: number, stride = 1, downsample: Module | null = null) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample = downsample === null ? null : this.registerModule('downsample', downsample);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const out = chain(x, this.conv1, this.bn1, this.relu, this.conv2, this.bn2);
      const identity = this.downsample === null ? x : this.downsample.call(x);
      return F.relu(out.add(identity));
    });
  }
}

/** 1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4, with a residual connection (ResNet-50+). */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Module | null;

  constructor(inPlanes: number, planes: number, stride = 1, downsample: Module | null = null) {
    super();
    const width = planes;
    this.conv1 = this.registerModule('conv1', conv1x1(inPlanes, width));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, stride));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(width));
    this.conv3 = this.registerModule('conv3', conv1x1(width, planes * Bottleneck.expansion));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = downsample === null ? null : this.registerModule('downsample', downsample);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const out = chain(x, this.conv1, this.bn1, this.relu, this.conv2, this.bn2, this.relu, this.conv3, this.bn3);
      const identity = this.downsample === null ? x : this.downsample.call(x);
      return F.relu(out.add(identity));
    });
  }
}

export type ResNetBlock = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions {
  /** Default 1000 with the ImageNet stem, 10 with the CIFAR stem. */
  numClasses?: number;
  /** 'imagenet' (7x7/2 conv + 3x3/2 max-pool, default) or 'cifar' (3x3/1 conv, no max-pool). */
  stem?: 'imagenet' | 'cifar';
  /** Standardise the [0, 1] input first (adds no state-dict key). */
  normalize?: NormalizationSpec;
  /** Zero the last BN weight of each residual branch (torchvision's zero_init_residual). */
  zeroInitResidual?: boolean;
}

export class ResNet extends Module {
  readonly normalize: Normalize | null;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly maxpool: Module;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  #inPlanes = 64;

  constructor(block: ResNetBlock, layers: readonly [number, number, number, number], o: ResNetOptions = {}) {
    super();
    const stem = o.stem ?? 'imagenet';
    if (stem !== 'imagenet' && stem !== 'cifar') throw new TypeError(`ResNet stem must be 'imagenet' or 'cifar', got '${String(stem)}'`);
    const numClasses = o.numClasses ?? (stem === 'cifar' ? 10 : 1000);
    const norm = normalizeLayer(o.normalize, 3);
    this.normalize = norm === null ? null : this.registerModule('normalize', norm);
    this.conv1 = this.registerModule('conv1', stem === 'imagenet'
      ? new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false })
      : new Conv2d(3, 64, 3, { stride: 1, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', stem === 'imagenet' ? new MaxPool2d(3, { stride: 2, padding: 1 }) : new Identity());
    this.layer1 = this.registerModule('layer1', this.#makeLayer(block, 64, layers[0]));
    this.layer2 = this.registerModule('layer2', this.#makeLayer(block, 128, layers[1], 2));
    this.layer3 = this.registerModule('layer3', this.#makeLayer(block, 256, layers[2], 2));
    this.layer4 = this.registerModule('layer4', this.#makeLayer(block, 512, layers[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule('fc', new Linear(512 * block.expansion, numClasses));

    // torchvision's initialisation, in module order (the fc keeps its default initialisation).
    for (const m of this.modules()) {
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        constant_(m.weight!, 1);
        constant_(m.bias!, 0);
      }
    }
    if (o.zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof Bottleneck) constant_(m.bn3.weight!, 0);
        else if (m instanceof BasicBlock) constant_(m.bn2.weight!, 0);
      }
    }
  }

  #makeLayer(block: ResNetBlock, planes: number, blocks: number, stride = 1): Sequential {
    let downsample: Module | null = null;
    // Built before the block, as torchvision does (this matters for the random stream).
    if (stride !== 1 || this.#inPlanes !== planes * block.expansion) {
      downsample = new Sequential(conv1x1(this.#inPlanes, planes * block.expansion, stride), new BatchNorm2d(planes * block.expansion));
    }
    const layers: Module[] = [new block(this.#inPlanes, planes, stride, downsample)];
    this.#inPlanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) layers.push(new block(this.#inPlanes, planes));
    return new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      return chain(x, this.normalize, this.conv1, this.bn1, this.relu, this.maxpool, this.layer1, this.layer2, this.layer3,
        this.layer4, this.avgpool, (t) => t.flatten(1), this.fc);
    });
  }
}

export const resnet18 = (o: ResNetOptions = {}): ResNet => new ResNet(BasicBlock, [2, 2, 2, 2], o);
export const resnet34 = (o: ResNetOptions = {}): ResNet => new ResNet(BasicBlock, [3, 4, 6, 3], o);
export const resnet50 = (o: ResNetOptions = {}): ResNet => new ResNet(Bottleneck, [3, 4, 6, 3], o);
