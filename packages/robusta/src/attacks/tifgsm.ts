// TI-FGSM — Dong, Pang, Su & Zhu, "Evading Defenses to Transferable Adversarial Examples by
// Translation-Invariant Attacks", CVPR 2019 (as torchattacks: with input diversity and momentum).
import type { Tensor } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import type { Classifier } from './classifier.js';
import { diverseInputAscent } from './input-diversity.js';
import { checkEps, checkNumber, checkSteps } from './params.js';
import { depthwiseSame, depthwiseWeight, type KernelName, smoothingKernel } from './smoothing-kernels.js';

export interface TIFGSMOptions extends AttackOptions {
  /** L∞ budget. Default 8/255. */
  eps?: number;
  /** Step size. Default 2/255. */
  alpha?: number;
  /** Iterations. Default 10. */
  steps?: number;
  /** Momentum decay μ. Default 0.0. */
  decay?: number;
  /** The smoothing kernel W. Default 'gaussian'. */
  kernelName?: KernelName;
  /** Kernel side k. Default 15 (the paper's best). */
  lenKernel?: number;
  /** The Gaussian kernel spans ±nsig standard deviations. Default 3. */
  nsig?: number;
  /** Resize factor of the input-diversity transform. Default 0.9. */
  resizeRate?: number;
  /** Probability that a step uses the transformed image. Default 0.5. */
  diversityProb?: number;
  /** Start from x + U(−ε, ε) (clipped to [0, 1]). Default false. */
  randomStart?: boolean;
}

/**
 * The gradient of an ensemble of translated images ≈ the gradient convolved with a kernel W:
 *   g = W ∗ ∇ₓ CE(f(T(x^t)), y),   m_{t+1} = g/mean|g| + μ·m_t,   x^{t+1} = Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(m_{t+1})),
 * W per channel with 'same' zero padding, T the input-diversity transform (input-diversity.ts, seed the
 * attack). Unlike torchattacks (groups = 3), W is applied to as many channels as the image has.
 */
export class TIFGSM extends Attack {
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;
  readonly kernelName: KernelName;
  readonly lenKernel: number;
  readonly nsig: number;
  readonly resizeRate: number;
  readonly diversityProb: number;
  readonly randomStart: boolean;
  /** W, k×k, summing to 1. */
  readonly kernel: number[][];

  constructor(model: Classifier, options: TIFGSMOptions = {}) {
    super('TIFGSM', model, options, { targeted: true });
    this.eps = checkEps(this.name, options.eps ?? 8 / 255);
    this.alpha = checkNumber(this.name, 'alpha', options.alpha ?? 2 / 255, { min: 0 });
    this.steps = checkSteps(this.name, 'steps', options.steps ?? 10);
    this.decay = checkNumber(this.name, 'decay', options.decay ?? 0.0, { min: 0 });
    this.kernelName = options.kernelName ?? 'gaussian';
    if (!['gaussian', 'linear', 'uniform'].includes(this.kernelName)) {
      throw new RangeError(`${this.name}: kernelName must be 'gaussian', 'linear' or 'uniform', got '${String(this.kernelName)}'`);
    }
    this.lenKernel = checkSteps(this.name, 'lenKernel', options.lenKernel ?? 15);
    this.nsig = checkNumber(this.name, 'nsig', options.nsig ?? 3, { min: 0, exclusiveMin: true });
    this.resizeRate = checkNumber(this.name, 'resizeRate', options.resizeRate ?? 0.9, { min: 0, exclusiveMin: true });
    this.diversityProb = checkNumber(this.name, 'diversityProb', options.diversityProb ?? 0.5, { min: 0, max: 1 });
    this.randomStart = options.randomStart ?? false;
    this.kernel = smoothingKernel(this.kernelName, this.lenKernel, this.nsig);
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    if (images.ndim !== 4) throw new RangeError(`${this.name}: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
    const weight = depthwiseWeight(this.kernel, images.shape[1]!, images);
    return diverseInputAscent(this.forward, images, labels, targets, this, (grad) => depthwiseSame(grad, weight));
  }
}
