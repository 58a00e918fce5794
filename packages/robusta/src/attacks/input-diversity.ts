// Input diversity (DI²-FGSM) — Xie, Zhang, Zhou, Bai, Wang, Ren & Yuille, "Improving Transferability
// of Adversarial Examples with Input Diversity", CVPR 2019. Shared by DIFGSM and TIFGSM.
import * as torch from '@robusta/torch';
import { emptyLike, F, type Tensor, tidy, zerosLike } from '@robusta/torch';
import { inputGradient } from './gradient.js';
import { crossEntropyObjective } from './losses.js';
import { projectLinf } from './lp.js';
import { accumulateMomentum } from './momentum.js';
import { advance } from './state.js';

/** One draw of the transform, for the whole batch (as torchattacks and the paper's code). */
export interface DiversityDraw {
  /** Whether the transform applies this step (probability diversityProb). */
  apply: boolean;
  /** The resized height and width. */
  size: [number, number];
  /** Zero padding [left, right, top, bottom] back to the output size. */
  padding: [number, number, number, number];
}

/**
 * T(x; p): with probability p, resize x to a random r×r (bilinear) and zero-pad it at a random offset
 * to the output size; else x itself. With s = the image width and resizeRate ρ:
 *   ρ < 1: r ∈ [⌊sρ⌋, s), output s×s;   ρ > 1: r ∈ [s, ⌊sρ⌋), output ⌊sρ⌋×⌊sρ⌋ (the model must take it).
 * The draws follow torchattacks' order — randint r, randint top, randint left, rand < p, all from the
 * CPU generator and all drawn even when the transform does not apply — so a seeded run reproduces
 * its random stream. Non-square images (where torchattacks squares them) keep their aspect ratio:
 * the width is drawn as above, the height follows it proportionally.
 */
export function drawInputDiversity(owner: string, shape: readonly number[], resizeRate: number, diversityProb: number): DiversityDraw {
  if (shape.length !== 4) throw new RangeError(`${owner}: input diversity needs images [N, C, H, W], got [${shape.join(', ')}]`);
  const [lowW, highW] = sizeRange(shape[3]!, resizeRate);
  const [lowH, highH] = sizeRange(shape[2]!, resizeRate);
  if (lowW >= highW || lowH >= highH) {
    throw new RangeError(`${owner}: resizeRate ${resizeRate} must change the ${shape[2]}×${shape[3]} image size by at least one pixel`);
  }
  return tidy(() => {
    const w = torch.randint(lowW, highW, [1]).item();
    // Square images: h = w, as torchattacks. Otherwise the same relative position in the height range.
    const h = lowH === lowW && highH === highW ? w
      : Math.min(highH - 1, lowH + Math.round(((w - lowW) * (highH - 1 - lowH)) / Math.max(1, highW - 1 - lowW)));
    const top = torch.randint(0, highH - h, [1]).item();
    const left = torch.randint(0, highW - w, [1]).item();
    // The comparison is libtorch's (float32 draw against p as float32), as `torch.rand(1) < p`.
    const apply = torch.rand([1]).lt(diversityProb).item() !== 0;
    return { apply, size: [h, w], padding: [left, highW - w - left, top, highH - h - top] };
  });
}

/** [low, high) of the resized size and the output size (= high) for one image dimension. */
function sizeRange(size: number, resizeRate: number): [number, number] {
  const scaled = Math.trunc(size * resizeRate);
  return resizeRate < 1 ? [scaled, size] : [size, scaled];
}

/** Applies a drawn transform (differentiable in x). */
export function applyInputDiversity(x: Tensor, draw: DiversityDraw): Tensor {
  if (!draw.apply) return x;
  return F.pad(F.interpolate(x, draw.size, 'bilinear', false), draw.padding, 'constant', 0);
}

/** The parameters of the diverse-input momentum iteration (DIFGSM's and TIFGSM's). */
export interface DiverseInputParams {
  readonly name: string;
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly decay: number;
  readonly resizeRate: number;
  readonly diversityProb: number;
  readonly randomStart: boolean;
}

/**
 * steps × { g ← ∇ₓ CE(f(T(x^t)), y), smoothed by `smooth` (TIFGSM's kernel; DIFGSM: none);
 * m ← g/mean|g| + μ·m;  x^t ← Π_{B∞(x, ε) ∩ [0,1]}(x^t + α·sign(m)) }, from x or a uniform random start.
 */
export function diverseInputAscent(forward: (x: Tensor) => Tensor, images: Tensor, labels: Tensor, targets: Tensor | null,
  p: DiverseInputParams, smooth: (grad: Tensor) => Tensor = (g) => g): Tensor {
  const objective = (z: Tensor): Tensor => crossEntropyObjective(z, labels, targets);
  let state = {
    adv: p.randomStart ? images.add(emptyLike(images).uniform_(-p.eps, p.eps)).clamp(0, 1) : images.clone(),
    momentum: zerosLike(images),
  };
  for (let i = 0; i < p.steps; i++) {
    state = advance(state, () => {
      const draw = drawInputDiversity(p.name, images.shape, p.resizeRate, p.diversityProb);
      const { grad } = inputGradient((x) => forward(applyInputDiversity(x, draw)), state.adv, objective);
      const momentum = accumulateMomentum(smooth(grad), state.momentum, p.decay);
      return { adv: projectLinf(state.adv.add(momentum.sign().mul(p.alpha)), images, p.eps), momentum };
    });
  }
  return state.adv;
}
