// Pre-activation ResNet-18 (He et al. 2016, "Identity Mappings in Deep Residual Networks") as the
// robustness literature trains it on CIFAR-10 (Wong et al. 2020 "Fast is better than free", Rice et
// al. 2020 "Overfitting in adversarially robust deep learning"): keys conv1, layer1..4.N.{bn1, conv1,
// bn2, conv2, shortcut.0}, bn, linear; BN-ReLU before each conv, a final BN-ReLU, 4x4 average pooling
// (32x32 inputs), PyTorch's default initialisation.
import { F, type Tensor, tidy } from '@robusta/torch';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { chain } from '../nn/chain.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/batchnorm.js';
import type { Normalize } from '../nn/layers/normalize.js';
import { normalizeLayer, type NormalizationSpec } from './normalization.js';

export class PreActBlock extends Module {
  static readonly expansion = 1;
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly shortcut: Sequential | null;

  constructor(inPlanes: number, planes: number, stride = 1) {
    super();
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false }));
    this.shortcut = stride !== 1 || inPlanes !== planes
      ? this.registerModule('shortcut', new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false })))
      : null;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const pre = chain(x, this.bn1, F.relu);
      // The projection shortcut takes the pre-activated input, the identity one the raw input.
      const shortcut = this.shortcut === null ? x : this.shortcut.call(pre);
      const out = chain(pre, this.conv1, this.bn2, F.relu, this.conv2);
      return out.add(shortcut);
    });
  }
}

export interface PreActResNetOptions {
  /** Default 10. */
  numClasses?: number;
  /** Standardise the [0, 1] input first (adds no state-dict key). */
  normalize?: NormalizationSpec;
}

export class PreActResNet extends Module {
  readonly normalize: Normalize | null;
  readonly conv1: Conv2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly bn: BatchNorm2d;
  readonly linear: Linear;
  #inPlanes = 64;

  constructor(numBlocks: readonly [number, number, number, number], o: PreActResNetOptions = {}) {
    super();
    const norm = normalizeLayer(o.normalize, 3);
    this.normalize = norm === null ? null : this.registerModule('normalize', norm);
    this.conv1 = this.registerModule('conv1', new Conv2d(3, 64, 3, { stride: 1, padding: 1, bias: false }));
    this.layer1 = this.registerModule('layer1', this.#makeLayer(64, numBlocks[0], 1));
    this.layer2 = this.registerModule('layer2', this.#makeLayer(128, numBlocks[1], 2));
    this.layer3 = this.registerModule('layer3', this.#makeLayer(256, numBlocks[2], 2));
    this.layer4 = this.registerModule('layer4', this.#makeLayer(512, numBlocks[3], 2));
    this.bn = this.registerModule('bn', new BatchNorm2d(512));
    this.linear = this.registerModule('linear', new Linear(512, o.numClasses ?? 10));
  }

  #makeLayer(planes: number, blocks: number, stride: number): Sequential {
    const layers: Module[] = [];
    for (let i = 0; i < blocks; i++) {
      layers.push(new PreActBlock(this.#inPlanes, planes, i === 0 ? stride : 1));
      this.#inPlanes = planes;
    }
    return new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      return chain(x, this.normalize, this.conv1, this.layer1, this.layer2, this.layer3, this.layer4, this.bn, F.relu,
        (t) => F.avgPool2d(t, 4), (t) => t.flatten(1), this.linear);
    });
  }
}

export const preActResNet18 = (o: PreActResNetOptions = {}): PreActResNet => new PreActResNet([2, 2, 2, 2], o);
