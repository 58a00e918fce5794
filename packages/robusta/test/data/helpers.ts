// Shared by the data tests: deterministic test images.
import { tensor, type Tensor } from '@robusta/torch';
import type { RgbImage } from '../../src/data/index.js';

/** A smooth gradient plus deterministic noise: structure for resampling, detail for aliasing. */
export function testImage(width: number, height: number, seed: number, noise = 0.4, frequency = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const smooth = 127 + 100 * Math.sin(frequency * ((x * (c + 1)) / 7 + y / 5) + seed);
        const v = smooth + ((s >>> 24) - 128) * noise;
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { width, height, data };
}

/** A uint8 batch [n, c, h, w] of distinct values (i-th element = i mod 251). */
export function rampBatch(n: number, c: number, h: number, w: number): Tensor {
  const a = new Uint8Array(n * c * h * w);
  for (let i = 0; i < a.length; i++) a[i] = i % 251;
  return tensor(a, { shape: [n, c, h, w] });
}
