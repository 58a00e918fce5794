// The smoothing kernels of the translation-invariant and patch-wise attacks (TIFGSM: Dong, Pang, Su &
// Zhu, CVPR 2019; PI-FGSM: Gao, Zhang, Song, Liu & Shen, ECCV 2020), and their per-channel convolution.
import * as torch from '@robusta/torch';
import { F, type Tensor } from '@robusta/torch';

export type KernelName = 'gaussian' | 'linear' | 'uniform';

/** The 2-D kernel k×k as rows (float64), summing to 1. */
export function smoothingKernel(name: KernelName, size: number, nsig = 3): number[][] {
  let profile: number[];
  if (name === 'gaussian') {
    // Standard normal density on `size` points evenly spaced in [−nsig, nsig] (the constant cancels).
    profile = linspace(-nsig, nsig, size).map((x) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
  } else if (name === 'linear') {
    // A tent: 1 − |2t/(k+1)| at t = −(k−1)/2 … (k−1)/2.
    profile = linspace((1 - size) / 2, (size - 1) / 2, size).map((t) => 1 - Math.abs((t / (size + 1)) * 2));
  } else if (name === 'uniform') {
    profile = new Array<number>(size).fill(1);
  } else {
    throw new RangeError(`unknown kernel '${String(name)}' (use gaussian, linear or uniform)`);
  }
  const outer = profile.map((a) => profile.map((b) => a * b));
  const total = outer.flat().reduce((s, v) => s + v, 0);
  return outer.map((row) => row.map((v) => v / total));
}

/** numpy.linspace(start, stop, n): start + i·step, the last point exactly stop. */
function linspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : start + i * step));
}

/** A k×k kernel repeated for each of `channels` channels: weight [C, 1, k, k] for a depthwise conv. */
export function depthwiseWeight(kernel: number[][], channels: number, like: Tensor): Tensor {
  const k = kernel.length;
  const flat = Float32Array.from(kernel.flat());
  return torch.tensor(flat, { shape: [1, 1, k, k] }).to({ dtype: like.dtype, device: like.device }).repeat([channels, 1, 1, 1]);
}

/**
 * Each channel of x [N, C, H, W] convolved with its own copy of the kernel, output the size of the
 * input (zero padding 'same'; an even k pads one more row/column after than before, as PyTorch's
 * padding='same'). torchattacks hard-codes groups = 3; the group count here is the image's channels,
 * so 1-channel (MNIST) images work too.
 */
export function depthwiseSame(x: Tensor, weight: Tensor): Tensor {
  const k = weight.shape[2]!;
  const groups = x.shape[1]!;
  if (k % 2 === 1) return F.conv2d(x, weight, null, { padding: (k - 1) / 2, groups });
  const before = Math.floor((k - 1) / 2);
  const after = k - 1 - before;
  return F.conv2d(F.pad(x, [before, after, before, after]), weight, null, { groups });
}
