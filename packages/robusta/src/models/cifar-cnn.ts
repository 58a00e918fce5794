// A small CIFAR-10 CNN as a PyTorch nn.Sequential:
// Conv(3,32)-ReLU-Conv(32,32)-ReLU-MaxPool(2)-Conv(32,64)-ReLU-Conv(64,64)-ReLU-MaxPool(2)-Flatten-
// Linear(4096,256)-ReLU-Linear(256,10), 3x3 convolutions with padding 1; keys 0, 2, 5, 7, 11, 13.
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { ReLU } from '../nn/layers/activation.js';
import { MaxPool2d } from '../nn/layers/pooling.js';
import { Flatten } from '../nn/layers/shape.js';
import type { Sequential } from '../nn/sequential.js';
import { sequentialModel, type SequentialModelOptions } from './sequential-model.js';

export interface CifarCnnOptions extends SequentialModelOptions {
  /** Default 10. */
  numClasses?: number;
}

export function cifarCnn(o: CifarCnnOptions = {}): Sequential {
  return sequentialModel([
    new Conv2d(3, 32, 3, { padding: 1 }), new ReLU(),
    new Conv2d(32, 32, 3, { padding: 1 }), new ReLU(),
    new MaxPool2d(2),
    new Conv2d(32, 64, 3, { padding: 1 }), new ReLU(),
    new Conv2d(64, 64, 3, { padding: 1 }), new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(64 * 8 * 8, 256), new ReLU(),
    new Linear(256, o.numClasses ?? 10),
  ], 3, o.normalize);
}
