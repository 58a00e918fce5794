// The model zoo by name: createModel('resnet18', {stem: 'cifar', normalize: 'cifar10'}).
import type { Module } from '../nn/module.js';
import type { NormalizationSpec } from './normalization.js';
import { mnistCnn, mnistMlp, mnistMlpDeep } from './mnist.js';
import { cifarCnn } from './cifar-cnn.js';
import { preActResNet18 } from './preact-resnet.js';
import { resnet18, resnet34, resnet50 } from './resnet.js';
import { WideResNet } from './wide-resnet.js';

export const MODEL_NAMES = [
  'mnist-cnn', 'mnist-mlp', 'mnist-mlp-deep', 'cifar-cnn', 'preact-resnet18',
  'resnet18', 'resnet34', 'resnet50', 'wrn-28-10', 'wrn-34-10',
] as const;

export type ModelName = (typeof MODEL_NAMES)[number];

/** Options understood by createModel; each model ignores those that do not apply to it. */
export interface ModelOptions {
  /** The number of outputs (default: the model's dataset, 10, or 1000 for ImageNet ResNets). */
  numClasses?: number;
  /** Standardise [0, 1] inputs inside the model (a dataset name or {mean, std}); adds no state-dict key. */
  normalize?: NormalizationSpec;
  /** ResNets: 'imagenet' (default) or 'cifar' stem. */
  stem?: 'imagenet' | 'cifar';
  /** Wide ResNets: dropout rate inside the blocks. */
  dropRate?: number;
  /** Wide ResNets: hold TRADES' unused sub_block1. */
  subBlock1?: boolean;
}

export interface ModelInfo {
  name: ModelName;
  description: string;
  /** [C, H, W] the model is meant for (ResNets with the ImageNet stem accept any size >= 32). */
  inputShape: [number, number, number];
  numClasses: number;
}

const INFO: Record<ModelName, Omit<ModelInfo, 'name'>> = {
  'mnist-cnn': { description: '4-conv CNN of the adversarial-ML tutorial (nn.Sequential)', inputShape: [1, 28, 28], numClasses: 10 },
  'mnist-mlp': { description: 'MLP 784-200-10 (nn.Sequential)', inputShape: [1, 28, 28], numClasses: 10 },
  'mnist-mlp-deep': { description: 'MLP 784-200-100-100-10 (nn.Sequential)', inputShape: [1, 28, 28], numClasses: 10 },
  'cifar-cnn': { description: 'small 4-conv CIFAR CNN (nn.Sequential)', inputShape: [3, 32, 32], numClasses: 10 },
  'preact-resnet18': { description: 'PreActResNet-18 of Wong et al. / Rice et al.', inputShape: [3, 32, 32], numClasses: 10 },
  resnet18: { description: 'torchvision ResNet-18', inputShape: [3, 224, 224], numClasses: 1000 },
  resnet34: { description: 'torchvision ResNet-34', inputShape: [3, 224, 224], numClasses: 1000 },
  resnet50: { description: 'torchvision ResNet-50', inputShape: [3, 224, 224], numClasses: 1000 },
  'wrn-28-10': { description: 'WideResNet-28-10 (RobustBench layout)', inputShape: [3, 32, 32], numClasses: 10 },
  'wrn-34-10': { description: 'WideResNet-34-10 (RobustBench layout)', inputShape: [3, 32, 32], numClasses: 10 },
};

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

function checkName(name: string): ModelName {
  if (!isModelName(name)) throw new TypeError(`unknown model '${name}' (known: ${MODEL_NAMES.join(', ')})`);
  return name;
}

/** What a zoo model expects, given the options it would be created with. */
export function modelInfo(name: string, o: ModelOptions = {}): ModelInfo {
  const n = checkName(name);
  const info = { name: n, ...INFO[n], inputShape: [...INFO[n].inputShape] as [number, number, number] };
  if (n.startsWith('resnet') && o.stem === 'cifar') {
    info.inputShape = [3, 32, 32];
    info.numClasses = 10;
  }
  if (o.numClasses !== undefined) info.numClasses = o.numClasses;
  return info;
}

export function listModels(): ModelInfo[] {
  return MODEL_NAMES.map((n) => modelInfo(n));
}

/** A freshly initialised zoo model (training mode, on the CPU: move it with .to(device)). */
export function createModel(name: string, o: ModelOptions = {}): Module {
  const n = checkName(name);
  const common = { numClasses: o.numClasses, normalize: o.normalize };
  switch (n) {
    case 'mnist-cnn': return mnistCnn(common);
    case 'mnist-mlp': return mnistMlp(common);
    case 'mnist-mlp-deep': return mnistMlpDeep(common);
    case 'cifar-cnn': return cifarCnn(common);
    case 'preact-resnet18': return preActResNet18(common);
    case 'resnet18': return resnet18({ ...common, stem: o.stem });
    case 'resnet34': return resnet34({ ...common, stem: o.stem });
    case 'resnet50': return resnet50({ ...common, stem: o.stem });
    case 'wrn-28-10': return new WideResNet({ ...common, depth: 28, widenFactor: 10, dropRate: o.dropRate, subBlock1: o.subBlock1 });
    case 'wrn-34-10': return new WideResNet({ ...common, depth: 34, widenFactor: 10, dropRate: o.dropRate, subBlock1: o.subBlock1 });
  }
}
