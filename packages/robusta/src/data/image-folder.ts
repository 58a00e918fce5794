// torchvision's ImageFolder: root/<class>/**/<image>, one class per subfolder, classes sorted by
// name (label = position), files found by a recursive walk sorted like os.walk + sorted().
// Decoding is pure JS, so the DataLoader's async iterator can run it in worker threads.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { stack, tensor, tidy, type Tensor } from '@robusta/torch';
import type { Batch, ClassificationDataset, WorkerDecodable } from './dataset.js';
import { readImage, type RgbImage } from './image.js';
import { imageToTensor } from './image-tensor.js';
import { toTensor } from './transforms.js';

export interface ImageFolderOptions {
  /**
   * Per-image transform on the main thread, from uint8 [3, H, W] to the example tensor, e.g.
   * (img) => toTensor(centerCrop(resize(img, 256), 224)). Default: toTensor (then all images must
   * have one size, to stack).
   */
  transform?: (image: Tensor) => Tensor;
  /** File extensions to include, lowercase with the dot (default .jpg .jpeg .png: the formats decoded here). */
  extensions?: readonly string[];
}

export interface ImageSample {
  path: string;
  label: number;
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory(); // follows symlinks, as os.walk(followlinks=True)
  } catch {
    return false;
  }
}

/** (folder, file) pairs below dir, ordered as sorted(os.walk(dir)) then sorted(files). */
function walk(dir: string): { folder: string; file: string }[] {
  const folders: { folder: string; files: string[] }[] = [];
  const visit = (d: string): void => {
    const files: string[] = [];
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (isDir(p)) visit(p);
      else files.push(e);
    }
    folders.push({ folder: d, files });
  };
  visit(dir);
  folders.sort((a, b) => byCodePoint(a.folder, b.folder));
  return folders.flatMap(({ folder, files }) => files.sort(byCodePoint).map((file) => ({ folder, file })));
}

export class ImageFolder implements ClassificationDataset, WorkerDecodable {
  readonly root: string;
  readonly classes: readonly string[];
  readonly classToIndex: ReadonlyMap<string, number>;
  readonly samples: readonly ImageSample[];
  readonly workerModule = new URL('./image-decode-task.js', import.meta.url);
  private readonly transform: (image: Tensor) => Tensor;

  constructor(root: string, options: ImageFolderOptions = {}) {
    if (!isDir(root)) throw new Error(`ImageFolder: ${root} is not a folder`);
    this.root = root;
    this.transform = options.transform ?? toTensor;
    const extensions = new Set((options.extensions ?? ['.jpg', '.jpeg', '.png']).map((e) => e.toLowerCase()));
    this.classes = Object.freeze(readdirSync(root).filter((e) => isDir(join(root, e))).sort(byCodePoint));
    if (this.classes.length === 0) throw new Error(`ImageFolder: no class folders in ${root}`);
    this.classToIndex = new Map(this.classes.map((c, i) => [c, i]));
    const samples: ImageSample[] = [];
    const empty: string[] = [];
    this.classes.forEach((c, label) => {
      const found = walk(join(root, c))
        .filter(({ file }) => extensions.has(extname(file).toLowerCase()))
        .map(({ folder, file }) => ({ path: join(folder, file), label }));
      if (found.length === 0) empty.push(c);
      samples.push(...found);
    });
    if (empty.length > 0) {
      throw new Error(`ImageFolder: found no valid file for the classes ${empty.join(', ')} (extensions: ${[...extensions].join(', ')})`);
    }
    this.samples = Object.freeze(samples);
  }

  get length(): number {
    return this.samples.length;
  }

  private sample(i: number): ImageSample {
    const s = Number.isInteger(i) ? this.samples[i] : undefined;
    if (s === undefined) throw new RangeError(`index ${i} is out of range for an ImageFolder of ${this.length} images`);
    return s;
  }

  /** Decodes on the calling thread (the DataLoader's sync path). */
  get(indices: readonly number[]): Batch {
    return this.fromWorker(indices.map((i) => readImage(this.sample(i).path)), indices);
  }

  workerTask(indices: readonly number[]): { paths: string[] } {
    return { paths: indices.map((i) => this.sample(i).path) };
  }

  fromWorker(result: unknown, indices: readonly number[]): Batch {
    const images = result as RgbImage[];
    return tidy(() => {
      const xs = images.map((img) => this.transform(imageToTensor(img)));
      const first = xs[0]?.shape.join(', ');
      const odd = xs.findIndex((t) => t.shape.join(', ') !== first);
      if (odd >= 0) {
        throw new RangeError(`ImageFolder: ${this.samples[indices[odd]!]!.path} gives [${xs[odd]!.shape.join(', ')}], ` +
          `the batch's first image [${first}]: give a transform that makes every image one size (resize + centerCrop)`);
      }
      const labels = Int32Array.from(indices, (i) => this.sample(i).label);
      return { x: stack(xs, 0), y: tensor(labels).to({ dtype: 'int64' }) };
    });
  }
}
