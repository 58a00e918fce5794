// @robusta/torch — a thin libtorch binding: Tensor, creation, autograd, nn functions, memory scopes.
export { TorchError } from './errors.js';
export { type DType, isFloatingDtype, type TypedArray } from './dtype.js';
export { type Device, cuda } from './device.js';
export { Tensor, type Scalar, type Reduction, type ToOptions, type NormOptions } from './tensor.js';
export * from './creation.js';
export * as autograd from './autograd.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd.js';
export * as F from './functional.js';
export * from './runtime.js';
export { tidy, keep, dispose, release, tensorsIn, scopeDepth } from './scope.js';
export { callOp } from './raw.js';
