// Weight initialisation, as torch.nn.init: in place, without autograd, returning the tensor.
// The scalar arithmetic follows PyTorch 1.13's expression for expression, so that with the same seed
// the same libtorch generator draws bit-identical weights.
import { noGrad, type Tensor } from '@robusta/torch';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv2d': case 'sigmoid': return 1;
    case 'tanh': return 5.0 / 3;
    case 'relu': return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu': return 3.0 / 4;
    default: throw new TypeError(`unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * fan_in = shape[1] · receptive field, fan_out = shape[0] · receptive field, where the receptive
 * field is the product of the dims after the first two (torch.nn.init._calculate_fan_in_and_fan_out).
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new RangeError(`fan in and fan out need a tensor of at least 2 dims, got shape [${shape.join(', ')}]`);
  }
  let receptive = 1;
  for (const s of shape.slice(2)) receptive *= s;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return noGrad(() => t.uniform_(a, b));
}
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu only). Default 0. */
  a?: number;
  /** 'fan_in' keeps the forward variance, 'fan_out' the backward one. Default 'fan_in'. */
  mode?: FanMode;
  /** Default 'leaky_relu' (with a = 0 this is ReLU's gain √2). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const f = fans(t.shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? f.fanIn : f.fanOut;
  if (fan === 0) throw new RangeError('kaiming initialisation of a tensor with a zero dimension');
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** U(−bound, bound) with bound = gain · √(3 / fan) (He et al. 2015, "Delving Deep into Rectifiers"). */
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3.0) * kaimingStd(t, o);
  return uniform_(t, -bound, bound);
}
/** N(0, std²) with std = gain / √fan (He et al. 2015). */
export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, o));
}

function xavierStd(t: Tensor, gain: number): number {
  const { fanIn, fanOut } = fans(t.shape);
  return gain * Math.sqrt(2.0 / (fanIn + fanOut));
}
/** U(−a, a) with a = gain · √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const a = Math.sqrt(3.0) * xavierStd(t, gain);
  return uniform_(t, -a, a);
}
/** N(0, std²) with std = gain · √(2 / (fan_in + fan_out)) (Glorot & Bengio 2010). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  return normal_(t, 0, xavierStd(t, gain));
}

/**
 * PyTorch's default initialisation of Linear and ConvNd (their reset_parameters): weight ~
 * kaiming_uniform_(a=√5), i.e. U(±1/√fan_in); bias ~ U(±1/√fan_in) (left alone when fan_in is 0).
 * Weight first, then bias, as PyTorch draws them, so a seed gives PyTorch's exact values.
 */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias === null) return;
  const { fanIn } = fans(weight.shape);
  if (fanIn !== 0) uniform_(bias, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
}
