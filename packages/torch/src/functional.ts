// Neural-network functions (torch.nn.functional): layers, activations, pooling, normalisation, losses.
import { op } from './native.js';
import { callT, type Reduction, reductionCode, th, thOpt, type Tensor } from './tensor.js';

type Pair = number | [number, number];
const pair = (v: Pair): number[] => (Array.isArray(v) ? v : [v, v]);

const O = {
  conv2d: op('aten::conv2d'), linear: op('aten::linear'), batchNorm: op('aten::batch_norm'), groupNorm: op('aten::group_norm'),
  layerNorm: op('aten::layer_norm'), maxPool2d: op('aten::max_pool2d'), avgPool2d: op('aten::avg_pool2d'),
  adaptiveAvgPool2d: op('aten::adaptive_avg_pool2d'), dropout: op('aten::dropout'), relu: op('aten::relu'),
  leakyRelu: op('aten::leaky_relu'), softplus: op('aten::softplus'), gelu: op('aten::gelu'), silu: op('aten::silu'),
  tanh: op('aten::tanh'), sigmoid: op('aten::sigmoid'), softmax: op('aten::softmax.int'), logSoftmax: op('aten::log_softmax.int'),
  crossEntropy: op('aten::cross_entropy_loss'), nll: op('aten::nll_loss_nd'), klDiv: op('aten::kl_div'), mse: op('aten::mse_loss'),
  l1: op('aten::l1_loss'), bce: op('aten::binary_cross_entropy'), bceLogits: op('aten::binary_cross_entropy_with_logits'),
  pad: op('aten::constant_pad_nd'), reflectionPad2d: op('aten::reflection_pad2d'), replicationPad2d: op('aten::replication_pad2d'),
  interpolateBilinear: op('aten::upsample_bilinear2d.vec'), interpolateNearest: op('aten::upsample_nearest2d.vec'),
};

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  return callT(O.conv2d, th(input, 'input'), th(weight, 'weight'), thOpt(bias, 'bias'), pair(o.stride ?? 1),
    pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1);
}
/** y = x Wᵀ + b */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return callT(O.linear, th(input, 'input'), th(weight, 'weight'), thOpt(bias, 'bias'));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise by the batch's statistics and update the running ones (training), or use the running ones (eval). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}
/** Batch normalisation; in training mode running_mean/var are updated in place, as in PyTorch. */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, o: BatchNormOptions = {}): Tensor {
  return callT(O.batchNorm, th(input, 'input'), thOpt(o.weight, 'weight'), thOpt(o.bias, 'bias'), thOpt(runningMean, 'runningMean'),
    thOpt(runningVar, 'runningVar'), o.training ?? false, o.momentum ?? 0.1, o.eps ?? 1e-5, true);
}
export function groupNorm(input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return callT(O.groupNorm, th(input, 'input'), numGroups, thOpt(weight, 'weight'), thOpt(bias, 'bias'), eps, true);
}
export function layerNorm(input: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return callT(O.layerNorm, th(input, 'input'), normalizedShape, thOpt(weight, 'weight'), thOpt(bias, 'bias'), eps, true);
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
export function maxPool2d(input: Tensor, kernelSize: Pair, o: PoolOptions & { dilation?: Pair } = {}): Tensor {
  return callT(O.maxPool2d, th(input, 'input'), pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0),
    pair(o.dilation ?? 1), o.ceilMode ?? false);
}
export function avgPool2d(input: Tensor, kernelSize: Pair, o: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  return callT(O.avgPool2d, th(input, 'input'), pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0),
    o.ceilMode ?? false, o.countIncludePad ?? true, null);
}
export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  return callT(O.adaptiveAvgPool2d, th(input, 'input'), pair(outputSize));
}

export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout probability must be in [0, 1], got ${p}`);
  return callT(O.dropout, th(input, 'input'), p, training);
}
export const relu = (x: Tensor): Tensor => callT(O.relu, th(x, 'input'));
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => callT(O.leakyRelu, th(x, 'input'), negativeSlope);
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor => callT(O.softplus, th(x, 'input'), beta, threshold);
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => callT(O.gelu, th(x, 'input'), approximate);
export const silu = (x: Tensor): Tensor => callT(O.silu, th(x, 'input'));
export const tanh = (x: Tensor): Tensor => callT(O.tanh, th(x, 'input'));
export const sigmoid = (x: Tensor): Tensor => callT(O.sigmoid, th(x, 'input'));
export const softmax = (x: Tensor, dim: number): Tensor => callT(O.softmax, th(x, 'input'), dim, null);
export const logSoftmax = (x: Tensor, dim: number): Tensor => callT(O.logSoftmax, th(x, 'input'), dim, null);

export interface LossOptions {
  reduction?: Reduction;
}
export interface CrossEntropyOptions extends LossOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** Cross-entropy of logits against class indices (int64) or class probabilities (float), as F.cross_entropy. */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  const ls = o.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new RangeError(`labelSmoothing must be in [0, 1], got ${ls}`);
  return callT(O.crossEntropy, th(logits, 'input'), th(target, 'target'), thOpt(o.weight, 'weight'),
    reductionCode(o.reduction ?? 'mean'), o.ignoreIndex ?? -100, ls);
}
/** Negative log-likelihood of log-probabilities. */
export function nllLoss(logProbs: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return callT(O.nll, th(logProbs, 'input'), th(target, 'target'), thOpt(o.weight, 'weight'), reductionCode(o.reduction ?? 'mean'),
    o.ignoreIndex ?? -100);
}
/**
 * KL divergence with `input` given as log-probabilities, as F.kl_div. reduction 'batchmean'
 * (sum / batch size) is the mathematically correct KL; 'mean' averages over elements like PyTorch.
 */
export function klDiv(input: Tensor, target: Tensor, o: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  const r = o.reduction ?? 'mean';
  if (r === 'batchmean') {
    const s = callT(O.klDiv, th(input, 'input'), th(target, 'target'), reductionCode('sum'), o.logTarget ?? false);
    const out = s.div(input.shape[0] ?? 1);
    s.dispose();
    return out;
  }
  return callT(O.klDiv, th(input, 'input'), th(target, 'target'), reductionCode(r), o.logTarget ?? false);
}
export function mseLoss(input: Tensor, target: Tensor, o: LossOptions = {}): Tensor {
  return callT(O.mse, th(input, 'input'), th(target, 'target'), reductionCode(o.reduction ?? 'mean'));
}
export function l1Loss(input: Tensor, target: Tensor, o: LossOptions = {}): Tensor {
  return callT(O.l1, th(input, 'input'), th(target, 'target'), reductionCode(o.reduction ?? 'mean'));
}
/** Binary cross-entropy of probabilities in [0, 1]. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, o: LossOptions & { weight?: Tensor | null } = {}): Tensor {
  return callT(O.bce, th(input, 'input'), th(target, 'target'), thOpt(o.weight, 'weight'), reductionCode(o.reduction ?? 'mean'));
}
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor,
  o: LossOptions & { weight?: Tensor | null; posWeight?: Tensor | null } = {}): Tensor {
  return callT(O.bceLogits, th(input, 'input'), th(target, 'target'), thOpt(o.weight, 'weight'), thOpt(o.posWeight, 'posWeight'),
    reductionCode(o.reduction ?? 'mean'));
}

/** Pads the last dims: pad = [left, right, top, bottom, ...] as F.pad. */
export function pad(input: Tensor, padding: number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
  if (mode === 'constant') return callT(O.pad, th(input, 'input'), padding, value);
  if (padding.length !== 4) throw new RangeError(`${mode} padding takes 4 values [left, right, top, bottom]`);
  return callT(mode === 'reflect' ? O.reflectionPad2d : O.replicationPad2d, th(input, 'input'), padding);
}

/** Resizes NCHW images to `size` = [h, w] (bilinear or nearest), as F.interpolate. */
export function interpolate(input: Tensor, size: [number, number], mode: 'bilinear' | 'nearest' = 'bilinear', alignCorners = false): Tensor {
  if (mode === 'nearest') return callT(O.interpolateNearest, th(input, 'input'), size, null);
  return callT(O.interpolateBilinear, th(input, 'input'), size, alignCorners, null);
}
