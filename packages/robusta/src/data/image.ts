// Image files <-> RGB bytes: JPEG (jpeg-js) and PNG (pngjs), both pure JS. This module must not
// import @robusta/torch: the prefetching DataLoader runs it inside worker threads.
// Colour handling follows torchvision's default loader (PIL's convert('RGB')): grey is replicated
// to three channels and alpha is dropped (not composited).
import { readFileSync, writeFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** An 8-bit RGB image: `data` holds height x width x 3 bytes, row-major, channels interleaved (HWC). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export class ImageDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageDecodeError';
  }
}

export type ImageFormat = 'png' | 'jpeg';

/** The format from the file's signature bytes, or null. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Drops every 4th byte (alpha) of RGBA data. */
function rgbaToRgb(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n * 4; i += 4, j += 3) {
    out[j] = rgba[i]!;
    out[j + 1] = rgba[i + 1]!;
    out[j + 2] = rgba[i + 2]!;
  }
  return out;
}

/** Decodes a PNG or JPEG file's bytes to RGB. */
export function decodeImage(bytes: Uint8Array, source = 'image'): RgbImage {
  const format = sniffImageFormat(bytes);
  try {
    if (format === 'png') {
      // pngjs expands grey, palette, 16-bit and grey+alpha to 8-bit RGBA.
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width, png.height) };
    }
    if (format === 'jpeg') {
      // formatAsRGBA false: RGB output, grey replicated, CMYK converted.
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (err) {
    throw new ImageDecodeError(`${source}: cannot decode ${format}: ${(err as Error).message}`, { cause: err });
  }
  throw new ImageDecodeError(`${source}: not a PNG or JPEG file`);
}

/** Reads and decodes a PNG or JPEG file. */
export function readImage(path: string): RgbImage {
  return decodeImage(readFileSync(path), path);
}

function checkImage(img: RgbImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw new RangeError(`image size must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`RGB data of a ${img.width}x${img.height} image needs ${img.width * img.height * 3} bytes, got ${img.data.length}`);
  }
}

/** Encodes RGB to a PNG file's bytes (8-bit truecolour, no alpha; lossless). */
export function encodePng(img: RgbImage): Buffer {
  checkImage(img);
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Encodes RGB to a JPEG file's bytes (quality 1..100). */
export function encodeJpeg(img: RgbImage, quality = 90): Buffer {
  checkImage(img);
  if (!(quality >= 1 && quality <= 100)) throw new RangeError(`JPEG quality must be in [1, 100], got ${quality}`);
  const n = img.width * img.height;
  const rgba = Buffer.alloc(n * 4, 255);
  for (let i = 0, j = 0; j < n * 3; i += 4, j += 3) {
    rgba[i] = img.data[j]!;
    rgba[i + 1] = img.data[j + 1]!;
    rgba[i + 2] = img.data[j + 2]!;
  }
  return jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data;
}

/** Writes RGB as PNG (or JPEG, when the path ends in .jpg/.jpeg). */
export function writeImage(path: string, img: RgbImage, options: { quality?: number } = {}): void {
  writeFileSync(path, /\.jpe?g$/i.test(path) ? encodeJpeg(img, options.quality) : encodePng(img));
}
