// The model zoo: MNIST/CIFAR baselines, PreActResNet-18, torchvision ResNets and RobustBench WideResNets.
export { createModel, modelInfo, listModels, isModelName, MODEL_NAMES, type ModelName, type ModelOptions, type ModelInfo } from './registry.js';
export { DATASET_STATS, normalizeLayer, type ChannelStats, type DatasetName, type NormalizationSpec } from './normalization.js';
export { mnistCnn, mnistMlp, mnistMlpDeep, type MnistModelOptions } from './mnist.js';
export { cifarCnn, type CifarCnnOptions } from './cifar-cnn.js';
export { PreActResNet, PreActBlock, preActResNet18, type PreActResNetOptions } from './preact-resnet.js';
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, type ResNetOptions, type ResNetBlock } from './resnet.js';
export { WideResNet, WideBasicBlock, NetworkBlock, wideResNet28x10, wideResNet34x10, type WideResNetOptions } from './wide-resnet.js';
