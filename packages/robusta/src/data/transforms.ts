// torchvision-like image transforms on tensors. Images are [..., C, H, W]; uint8 for the geometric
// transforms that mirror PIL (resize, centerCrop), float in [0, 1] after toTensor.
// The training augmentations (randomCrop, randomHorizontalFlip) work on whole batches [N, C, H, W]
// with tensor ops and draw their randomness from a seeded Rng, so a run is reproducible.
import { arange, F, randint, tensor, tidy, where, type Tensor } from '@robusta/torch';
import type { RgbImage } from './image.js';
import { imageToTensor } from './image-tensor.js';
import { Rng } from './random.js';

// ---- normalisation constants (per-channel mean and std of the training sets, in [0, 1] units) ----
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);
export const CIFAR10_MEAN: readonly number[] = Object.freeze([0.4914, 0.4822, 0.4465]);
/** The per-pixel std over the training set (the 0.2023/0.1994/0.2010 seen in many repositories is a miscomputed value). */
export const CIFAR10_STD: readonly number[] = Object.freeze([0.2470, 0.2435, 0.2616]);
export const CIFAR100_MEAN: readonly number[] = Object.freeze([0.5071, 0.4865, 0.4409]);
export const CIFAR100_STD: readonly number[] = Object.freeze([0.2673, 0.2564, 0.2762]);
export const MNIST_MEAN: readonly number[] = Object.freeze([0.1307]);
export const MNIST_STD: readonly number[] = Object.freeze([0.3081]);

function checkImageTensor(x: Tensor, who: string): void {
  if (x.ndim < 2) throw new RangeError(`${who}: expected an image [..., H, W], got shape [${x.shape.join(', ')}]`);
}

function sizePair(size: number | readonly [number, number], who: string): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new RangeError(`${who}: size must be positive integers, got ${JSON.stringify(size)}`);
  }
  return [h, w];
}

/** Python's round(): halves go to the even neighbour (what torchvision's center_crop uses). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// ---- resize: Pillow's bilinear resampling (what torchvision's Resize does to a PIL image) --------
// Pillow (src/libImaging/Resample.c) resamples separably, horizontal pass first, with a triangle
// filter whose support is scaled by the reduction factor when downscaling (antialiasing):
//   scale = in/out, fs = max(scale, 1), support = 1 * fs, center_i = (i + 0.5) * scale,
//   taps x in [trunc(center - support + 0.5), trunc(center + support + 0.5)) clipped to the image,
//   w(x) = max(0, 1 - |x - center + 0.5| / fs), normalised to sum 1.
// For 8-bit images the weights become fixed point k = trunc(w * 2^22 + 0.5) and each pass computes
// clamp(floor((2^21 + sum(k * pixel)) / 2^22), 0, 255), storing the intermediate image as uint8.
// In float64 those integer sums are exact, so the tensor version below reproduces Pillow bit for bit.

const PRECISION_BITS = 22;

interface Taps {
  /** ksize tap positions per output pixel: index[k][i] is tap k of output i (0 where unused). */
  index: Int32Array[];
  /** weight[k][i]: fixed-point integers for uint8 images, doubles otherwise (0 where unused). */
  weight: Float64Array[];
}

function pillowTaps(inSize: number, outSize: number, fixedPoint: boolean): Taps {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const index = Array.from({ length: ksize }, () => new Int32Array(outSize));
  const weight = Array.from({ length: ksize }, () => new Float64Array(outSize));
  const triangle = (x: number): number => {
    const a = Math.abs(x);
    return a < 1 ? 1 - a : 0;
  };
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const w = new Float64Array(xmax);
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = triangle((x + xmin - center + 0.5) / filterscale);
      total += w[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      let v = total !== 0 ? w[x]! / total : w[x]!;
      if (fixedPoint) v = v < 0 ? Math.trunc(-0.5 + v * 2 ** PRECISION_BITS) : Math.trunc(0.5 + v * 2 ** PRECISION_BITS);
      index[x]![i] = x + xmin;
      weight[x]![i] = v;
    }
  }
  return { index, weight };
}

/** One separable pass along `dim` (-1: width, -2: height) of a float64 tensor. */
function resamplePass(x: Tensor, dim: -1 | -2, outSize: number, fixedPoint: boolean): Tensor {
  return tidy(() => {
    const inSize = x.shape[x.ndim + dim]!;
    const taps = pillowTaps(inSize, outSize, fixedPoint);
    const wShape = dim === -1 ? [outSize] : [outSize, 1];
    let acc: Tensor | null = null;
    for (let k = 0; k < taps.index.length; k++) {
      const idx = tensor(taps.index[k]!).to({ dtype: 'int64', device: x.device });
      const w = tensor(taps.weight[k]!, { shape: wShape, device: x.device });
      const term = x.indexSelect(dim, idx).mul(w);
      acc = acc === null ? term : acc.add(term);
    }
    if (!fixedPoint) return acc!;
    return acc!.add(2 ** (PRECISION_BITS - 1)).div(2 ** PRECISION_BITS).floor().clamp(0, 255);
  });
}

/** The output [h, w] of torchvision's Resize(size) for an image of inH x inW. */
export function resizedSize(inH: number, inW: number, size: number | readonly [number, number], maxSize?: number): [number, number] {
  if (typeof size !== 'number') return sizePair(size, 'resize');
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`resize: size must be a positive integer, got ${size}`);
  const [short, long] = inW <= inH ? [inW, inH] : [inH, inW];
  let newShort = size;
  let newLong = Math.trunc((size * long) / short); // Python int(size * long / short)
  if (maxSize !== undefined) {
    if (maxSize <= size) throw new RangeError(`resize: maxSize ${maxSize} must be greater than size ${size}`);
    if (newLong > maxSize) {
      newShort = Math.trunc((maxSize * newShort) / newLong);
      newLong = maxSize;
    }
  }
  return inW <= inH ? [newLong, newShort] : [newShort, newLong];
}

export interface ResizeOptions {
  /** As torchvision's max_size: cap on the longer side when `size` is a number. */
  maxSize?: number;
}

/**
 * torchvision's Resize on a PIL image: `size` a number scales the shorter side to it (keeping the
 * aspect ratio, rounding the longer side down), [h, w] sets both. Bilinear with antialiasing when
 * downscaling, bit-exact with Pillow for uint8 images. x: [..., H, W], uint8 or float.
 */
export function resize(x: Tensor, size: number | readonly [number, number], options: ResizeOptions = {}): Tensor {
  checkImageTensor(x, 'resize');
  const inH = x.shape[x.ndim - 2]!;
  const inW = x.shape[x.ndim - 1]!;
  const [outH, outW] = resizedSize(inH, inW, size, options.maxSize);
  if (outH === inH && outW === inW) return x.clone();
  const fixedPoint = x.dtype === 'uint8';
  return tidy(() => {
    let y = x.to({ dtype: 'float64' });
    if (outW !== inW) y = resamplePass(y, -1, outW, fixedPoint);
    if (outH !== inH) y = resamplePass(y, -2, outH, fixedPoint);
    return y.to({ dtype: fixedPoint ? 'uint8' : x.dtype });
  });
}

/**
 * torchvision's CenterCrop: the central size x size (or [h, w]) window, top/left = round((H - h) / 2)
 * with Python's rounding; an image smaller than the crop is first zero-padded as torchvision does.
 */
export function centerCrop(x: Tensor, size: number | readonly [number, number]): Tensor {
  checkImageTensor(x, 'centerCrop');
  const [ch, cw] = sizePair(size, 'centerCrop');
  return tidy(() => {
    let img = x;
    let h = img.shape[img.ndim - 2]!;
    let w = img.shape[img.ndim - 1]!;
    if (cw > w || ch > h) {
      const left = cw > w ? Math.floor((cw - w) / 2) : 0;
      const top = ch > h ? Math.floor((ch - h) / 2) : 0;
      const right = cw > w ? Math.floor((cw - w + 1) / 2) : 0;
      const bottom = ch > h ? Math.floor((ch - h + 1) / 2) : 0;
      img = F.pad(img, [left, right, top, bottom], 'constant', 0);
      h = img.shape[img.ndim - 2]!;
      w = img.shape[img.ndim - 1]!;
    }
    const top = roundHalfEven((h - ch) / 2);
    const left = roundHalfEven((w - cw) / 2);
    return img.narrow(img.ndim - 2, top, ch).narrow(img.ndim - 1, left, cw).contiguous();
  });
}

/** torchvision's ToTensor for uint8 images: float32 in [0, 1] (x / 255). An RgbImage becomes [3, H, W] first. */
export function toTensor(x: Tensor | RgbImage): Tensor {
  if (!('dtype' in x)) {
    const t = imageToTensor(x);
    try { return toTensor(t); } finally { t.dispose(); }
  }
  if (x.dtype !== 'uint8') throw new TypeError(`toTensor expects a uint8 image, got ${x.dtype}`);
  const f = x.to({ dtype: 'float32' });
  return f.div_(255);
}

/** (x - mean[c]) / std[c] over the channel dim of [C, H, W] or [N, C, H, W] float images. */
export function normalize(x: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  const c = x.shape[x.ndim - 3];
  if (x.ndim < 3 || c !== mean.length || c !== std.length) {
    throw new RangeError(`normalize: ${mean.length} means and ${std.length} stds for an image of shape [${x.shape.join(', ')}]`);
  }
  if (std.some((s) => !(s > 0))) throw new RangeError('normalize: std values must be positive');
  return tidy(() => {
    const m = tensor(mean as number[], { dtype: x.dtype, shape: [c, 1, 1], device: x.device });
    const s = tensor(std as number[], { dtype: x.dtype, shape: [c, 1, 1], device: x.device });
    return x.sub(m).div(s);
  });
}

/** The inverse of normalize: x * std[c] + mean[c]. */
export function denormalize(x: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  const c = x.shape[x.ndim - 3];
  if (x.ndim < 3 || c !== mean.length || c !== std.length) {
    throw new RangeError(`denormalize: ${mean.length} means and ${std.length} stds for an image of shape [${x.shape.join(', ')}]`);
  }
  return tidy(() => {
    const m = tensor(mean as number[], { dtype: x.dtype, shape: [c, 1, 1], device: x.device });
    const s = tensor(std as number[], { dtype: x.dtype, shape: [c, 1, 1], device: x.device });
    return x.mul(s).add(m);
  });
}

/** Applies tensor transforms left to right. */
export function compose(...transforms: ((x: Tensor) => Tensor)[]): (x: Tensor) => Tensor {
  return (x) => tidy(() => transforms.reduce((acc, t) => t(acc), x));
}

// ---- batch augmentation ------------------------------------------------------------------------

export interface RandomOptions {
  /** The random stream; default: one seeded from libtorch's global generator (so torch.manualSeed governs it). */
  rng?: Rng;
}

function rngOf(o: RandomOptions): Rng {
  if (o.rng !== undefined) return o.rng;
  const draw = randint(0, 2 ** 31 - 1, [2]);
  const [a, b] = draw.toFlatArray() as [number, number];
  draw.dispose();
  return Rng.from(a, b);
}

function checkBatch(x: Tensor, who: string): [number, number, number, number] {
  if (x.ndim !== 4) throw new RangeError(`${who}: expected a batch [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number, number];
}

export interface CropOffsets {
  /** Per example, the first row / column of the window in the padded image. */
  top: Int32Array;
  left: Int32Array;
}

/** The windows RandomCrop draws: top uniform in [0, H + 2p - h], left in [0, W + 2p - w], per example. */
export function randomCropOffsets(n: number, height: number, width: number, size: number | readonly [number, number],
  padding: number, rng: Rng): CropOffsets {
  const [ch, cw] = sizePair(size, 'randomCrop');
  const ph = height + 2 * padding;
  const pw = width + 2 * padding;
  if (ch > ph || cw > pw) throw new RangeError(`randomCrop: crop ${ch}x${cw} is larger than the padded image ${ph}x${pw}`);
  const top = new Int32Array(n);
  const left = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    top[i] = rng.int(ph - ch + 1);
    left[i] = rng.int(pw - cw + 1);
  }
  return { top, left };
}

/** Crops each example of a zero-padded batch at its own offsets, with one advanced-indexing op. */
export function cropAt(x: Tensor, size: number | readonly [number, number], padding: number, offsets: CropOffsets): Tensor {
  const [n, c] = checkBatch(x, 'cropAt');
  const [ch, cw] = sizePair(size, 'cropAt');
  if (offsets.top.length !== n || offsets.left.length !== n) throw new RangeError(`cropAt: ${offsets.top.length} offsets for ${n} examples`);
  return tidy(() => {
    const padded = padding > 0 ? F.pad(x, [padding, padding, padding, padding], 'constant', 0) : x;
    const device = x.device;
    const top = tensor(offsets.top).to({ dtype: 'int64', device }).reshape([n, 1, 1, 1]);
    const left = tensor(offsets.left).to({ dtype: 'int64', device }).reshape([n, 1, 1, 1]);
    const rows = top.add(arange(0, ch, 1, { device }).reshape([1, 1, ch, 1]));  // [N, 1, ch, 1]
    const cols = left.add(arange(0, cw, 1, { device }).reshape([1, 1, 1, cw])); // [N, 1, 1, cw]
    const batch = arange(0, n, 1, { device }).reshape([n, 1, 1, 1]);
    const channel = arange(0, c, 1, { device }).reshape([1, c, 1, 1]);
    return padded.index([batch, channel, rows, cols]); // broadcasts to [N, C, ch, cw]
  });
}

/**
 * torchvision's RandomCrop(size, padding) on a batch: zero-pad each side by `padding`, then take a
 * size x size window at an independent uniform offset per example (e.g. CIFAR: size 32, padding 4).
 */
export function randomCrop(x: Tensor, size: number | readonly [number, number], padding = 0, options: RandomOptions = {}): Tensor {
  const [n, , h, w] = checkBatch(x, 'randomCrop');
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`randomCrop: padding must be a non-negative integer, got ${padding}`);
  return cropAt(x, size, padding, randomCropOffsets(n, h, w, size, padding, rngOf(options)));
}

/** Which examples RandomHorizontalFlip(p) flips: true with probability p each. */
export function randomFlipMask(n: number, p: number, rng: Rng): Uint8Array {
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = rng.next() < p ? 1 : 0;
  return mask;
}

/** Mirrors the examples whose mask entry is 1 (left-right). */
export function flipWhere(x: Tensor, mask: Uint8Array): Tensor {
  const [n] = checkBatch(x, 'flipWhere');
  if (mask.length !== n) throw new RangeError(`flipWhere: ${mask.length} mask entries for ${n} examples`);
  return tidy(() => {
    const m = tensor(mask, { shape: [n, 1, 1, 1] }).to({ dtype: 'bool', device: x.device });
    return where(m, x.flip(3), x);
  });
}

/** torchvision's RandomHorizontalFlip(p) on a batch: each example mirrored with probability p. */
export function randomHorizontalFlip(x: Tensor, p = 0.5, options: RandomOptions = {}): Tensor {
  const [n] = checkBatch(x, 'randomHorizontalFlip');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`randomHorizontalFlip: p must be in [0, 1], got ${p}`);
  return flipWhere(x, randomFlipMask(n, p, rngOf(options)));
}
