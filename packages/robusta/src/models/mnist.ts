// The MNIST models of the adversarial-ML tutorial (Kolter & Madry, "Adversarial Robustness — Theory
// and Practice", NeurIPS 2018 tutorial): a small CNN and two MLPs, each a PyTorch nn.Sequential.
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { ReLU } from '../nn/layers/activation.js';
import { Flatten } from '../nn/layers/shape.js';
import type { Sequential } from '../nn/sequential.js';
import { sequentialModel, type SequentialModelOptions } from './sequential-model.js';

export interface MnistModelOptions extends SequentialModelOptions {
  /** Default 10. */
  numClasses?: number;
}

/**
 * Conv(1,32,3,p1)-ReLU-Conv(32,32,3,p1,s2)-ReLU-Conv(32,64,3,p1)-ReLU-Conv(64,64,3,p1,s2)-ReLU-
 * Flatten-Linear(3136,100)-ReLU-Linear(100,10): keys 0, 2, 4, 6 (convs), 9, 11 (linears).
 */
export function mnistCnn(o: MnistModelOptions = {}): Sequential {
  return sequentialModel([
    new Conv2d(1, 32, 3, { padding: 1 }), new ReLU(),
    new Conv2d(32, 32, 3, { padding: 1, stride: 2 }), new ReLU(),
    new Conv2d(32, 64, 3, { padding: 1 }), new ReLU(),
    new Conv2d(64, 64, 3, { padding: 1, stride: 2 }), new ReLU(),
    new Flatten(),
    new Linear(7 * 7 * 64, 100), new ReLU(),
    new Linear(100, o.numClasses ?? 10),
  ], 1, o.normalize);
}

/** Flatten-Linear(784,200)-ReLU-Linear(200,10) (the tutorial's model_dnn_2). */
export function mnistMlp(o: MnistModelOptions = {}): Sequential {
  return sequentialModel([new Flatten(), new Linear(784, 200), new ReLU(), new Linear(200, o.numClasses ?? 10)], 1, o.normalize);
}

/** Flatten-Linear(784,200)-ReLU-Linear(200,100)-ReLU-Linear(100,100)-ReLU-Linear(100,10) (model_dnn_4). */
export function mnistMlpDeep(o: MnistModelOptions = {}): Sequential {
  return sequentialModel([
    new Flatten(),
    new Linear(784, 200), new ReLU(),
    new Linear(200, 100), new ReLU(),
    new Linear(100, 100), new ReLU(),
    new Linear(100, o.numClasses ?? 10),
  ], 1, o.normalize);
}
