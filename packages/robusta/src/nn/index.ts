// torch.nn for robusta: the Module base class, layers, initialisation and state-dict helpers.
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult, type BufferOptions, type ForwardHook } from './module.js';
export { StateDictError, type SizeMismatch } from './errors.js';
export { Sequential } from './sequential.js';
export { chain, type ChainStep } from './chain.js';
export { Conv2d, type Conv2dOptions } from './layers/conv.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { BatchNorm2d, type BatchNormOptions } from './layers/batchnorm.js';
export { ReLU, LeakyReLU, Softplus, GELU, SiLU, Tanh, Sigmoid } from './layers/activation.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from './layers/pooling.js';
export { Dropout } from './layers/dropout.js';
export { Flatten, Identity } from './layers/shape.js';
export { Normalize, type NormalizeOptions } from './layers/normalize.js';
export { emptyParameter } from './parameter.js';
export { renameKeys, stripPrefix } from './state.js';
export type { Pair } from './check.js';
export * as init from './init.js';
