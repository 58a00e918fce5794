// RGB images <-> tensors: uint8 [3, H, W] (CHW, like torchvision's PILToTensor) and back, and
// saving tensors as image files (what the attack demo writes).
import { tensor, tidy, type Tensor } from '@robusta/torch';
import { readImage, writeImage, type RgbImage } from './image.js';

/** An RGB image as a uint8 tensor [3, H, W]. */
export function imageToTensor(img: RgbImage): Tensor {
  return tidy(() => tensor(img.data, { shape: [img.height, img.width, 3] }).permute(2, 0, 1).contiguous());
}

/** Reads a PNG or JPEG file as a uint8 tensor [3, H, W]. */
export function readImageTensor(path: string): Tensor {
  return imageToTensor(readImage(path));
}

/**
 * A tensor [C, H, W] or [1, C, H, W] with C = 1 or 3 as RGB bytes: uint8 is taken as is; floats are
 * read as [0, 1] and mapped like torchvision's save_image (x * 255 + 0.5, clamped, truncated).
 */
export function tensorToImage(t: Tensor): RgbImage {
  let shape = t.shape;
  if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
  if (shape.length !== 3 || (shape[0] !== 1 && shape[0] !== 3)) {
    throw new RangeError(`tensorToImage: expected [C, H, W] or [1, C, H, W] with C = 1 or 3, got [${t.shape.join(', ')}]`);
  }
  const [c, h, w] = shape as [number, number, number];
  const bytes = tidy(() => {
    let x = t.detach().reshape([c, h, w]).cpu();
    if (x.dtype !== 'uint8') x = x.to({ dtype: 'float32' }).mul(255).add(0.5).clamp(0, 255).to({ dtype: 'uint8' });
    if (c === 1) x = x.expand([3, h, w]);
    return x.permute(1, 2, 0).contiguous();
  });
  try {
    return { width: w, height: h, data: bytes.data() as Uint8Array };
  } finally {
    bytes.dispose();
  }
}

/** Saves a tensor image (see tensorToImage) as PNG, or JPEG for a .jpg/.jpeg path. */
export function saveImage(path: string, t: Tensor, options: { quality?: number } = {}): void {
  writeImage(path, tensorToImage(t), options);
}
