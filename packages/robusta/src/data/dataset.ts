// The dataset interface the DataLoader reads: a length and batch access by indices.
// In-memory datasets gather a batch with one indexSelect; file datasets may also describe their
// decoding as worker-thread work (WorkerDecodable) so the loader can prefetch in the background.
import { keep, tensor, type Device, type Tensor } from '@robusta/torch';

/** A batch of examples: inputs x (first dim = batch) and targets y. The receiver owns both tensors. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

export interface Dataset {
  readonly length: number;
  /** The examples at these indices, stacked along a new first dim: fresh tensors the caller owns. */
  get(indices: readonly number[]): Batch;
}

/** A dataset of labelled examples with class names (index = label). */
export interface ClassificationDataset extends Dataset {
  readonly classes: readonly string[];
}

/**
 * A dataset whose batches can be decoded by pure-JS code in worker threads (files → raw bytes),
 * leaving only tensor creation to the main thread. The libtorch addon is single-threaded and must
 * never be loaded in a worker, so `workerModule` must not import @robusta/torch (directly or not).
 */
export interface WorkerDecodable {
  /** An ES module exporting `runTask(task): WorkerTaskResult | Promise<WorkerTaskResult>`. */
  readonly workerModule: URL;
  /** A structured-cloneable description of the work for one batch (file paths, options, ...). */
  workerTask(indices: readonly number[]): unknown;
  /** Makes the batch tensors (main thread) from what runTask returned for these indices. */
  fromWorker(result: unknown, indices: readonly number[]): Batch;
}

/** What a worker module's runTask returns: the result and the ArrayBuffers to move (not copy). */
export interface WorkerTaskResult {
  result: unknown;
  transfer?: ArrayBuffer[];
}

export function isWorkerDecodable(ds: Dataset): ds is Dataset & WorkerDecodable {
  const w = ds as Partial<WorkerDecodable>;
  return w.workerModule instanceof URL && typeof w.workerTask === 'function' && typeof w.fromWorker === 'function';
}

/** Checks indices against a dataset length and makes the int64 index tensor for indexSelect (on `device`). */
export function indexTensor(indices: readonly number[], length: number, device: Device = 'cpu'): Tensor {
  const a = new BigInt64Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= length) {
      throw new RangeError(`index ${k} is out of range for a dataset of ${length} examples`);
    }
    a[i] = BigInt(k);
  }
  return tensor(a, { shape: [indices.length], device });
}

/** Examples held in two tensors; x[i], y[i] is example i. */
export class TensorDataset implements Dataset {
  readonly x: Tensor;
  readonly y: Tensor;

  /** Takes ownership of x and y (keep()-ed so a surrounding tidy does not free them; dispose() does). */
  constructor(x: Tensor, y: Tensor) {
    const n = x.shape[0];
    if (n === undefined || y.shape[0] !== n) {
      throw new RangeError(`TensorDataset: x and y need the same first dim, got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
    }
    this.x = keep(x);
    this.y = keep(y);
  }

  get length(): number {
    return this.x.shape[0]!;
  }

  get(indices: readonly number[]): Batch {
    const idx = indexTensor(indices, this.length, this.x.device);
    const idy = this.y.device === this.x.device ? idx : indexTensor(indices, this.length, this.y.device);
    try {
      return { x: this.x.indexSelect(0, idx), y: this.y.indexSelect(0, idy) };
    } finally {
      idx.dispose();
      idy.dispose();
    }
  }

  /** A copy on another device (e.g. the whole set on the GPU, so batches need no transfer). */
  to(device: Device): TensorDataset {
    return new TensorDataset(this.x.to({ device }), this.y.to({ device }));
  }

  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }
}

export interface ImageTensorDatasetInit {
  /** uint8 [N, C, H, W] */
  images: Tensor;
  /** int64 [N] */
  labels: Tensor;
  classes: readonly string[];
  name: string;
}

/**
 * An image classification dataset in memory: uint8 images [N, C, H, W] and int64 labels [N].
 * get() returns float32 images in [0, 1] (the uint8 value / 255, as torchvision's ToTensor).
 */
export class ImageTensorDataset implements ClassificationDataset {
  /** uint8 [N, C, H, W], the raw pixels. */
  readonly images: Tensor;
  /** int64 [N] */
  readonly labels: Tensor;
  readonly classes: readonly string[];
  readonly name: string;
  private floatCache: Tensor | null = null;

  /** Takes ownership of the tensors (keep()-ed; free them with dispose()). */
  constructor(init: ImageTensorDatasetInit) {
    const { images, labels } = init;
    if (images.ndim !== 4 || images.dtype !== 'uint8') {
      throw new TypeError(`${init.name}: images must be uint8 [N, C, H, W], got ${images.dtype} [${images.shape.join(', ')}]`);
    }
    if (labels.ndim !== 1 || labels.shape[0] !== images.shape[0] || labels.dtype !== 'int64') {
      throw new TypeError(`${init.name}: labels must be int64 [${images.shape[0]}], got ${labels.dtype} [${labels.shape.join(', ')}]`);
    }
    this.images = keep(images);
    this.labels = keep(labels);
    this.classes = Object.freeze([...init.classes]);
    this.name = init.name;
  }

  get length(): number {
    return this.images.shape[0]!;
  }

  /** [C, H, W] of one example. */
  get imageShape(): [number, number, number] {
    const [, c, h, w] = this.images.shape as [number, number, number, number];
    return [c, h, w];
  }

  /** All images as float32 in [0, 1], computed on first use and kept until dispose() (4x the uint8 memory). */
  get float(): Tensor {
    if (this.floatCache === null || this.floatCache.isDisposed) {
      const f = this.images.to({ dtype: 'float32' });
      f.div_(255);
      this.floatCache = keep(f);
    }
    return this.floatCache;
  }

  get(indices: readonly number[]): Batch {
    const idx = indexTensor(indices, this.length, this.images.device);
    const idy = this.labels.device === this.images.device ? idx : indexTensor(indices, this.length, this.labels.device);
    try {
      let x: Tensor;
      if (this.floatCache !== null && !this.floatCache.isDisposed) {
        x = this.floatCache.indexSelect(0, idx);
      } else {
        const raw = this.images.indexSelect(0, idx);
        x = raw.to({ dtype: 'float32' });
        raw.dispose();
        x.div_(255);
      }
      return { x, y: this.labels.indexSelect(0, idy) };
    } finally {
      idx.dispose();
      idy.dispose();
    }
  }

  /** A copy on another device (e.g. the whole uint8 set on the GPU: batches are then gathered there). */
  to(device: Device): ImageTensorDataset {
    return new ImageTensorDataset({
      images: this.images.to({ device }), labels: this.labels.to({ device }), classes: this.classes, name: this.name,
    });
  }

  /** The number of examples of each class (index = label). */
  classCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    const cpu = this.labels.cpu();
    const labels = cpu.data() as BigInt64Array;
    cpu.dispose();
    for (const l of labels) counts[Number(l)] = (counts[Number(l)] ?? 0) + 1;
    return counts;
  }

  dispose(): void {
    this.images.dispose();
    this.labels.dispose();
    this.floatCache?.dispose();
    this.floatCache = null;
  }
}

/** A view of another dataset: the examples at `indices` (or the first n), in that order. */
export class Subset implements Dataset {
  readonly indices: Int32Array;
  readonly workerModule?: URL;

  constructor(readonly base: Dataset, selection: number | readonly number[]) {
    if (typeof selection === 'number') {
      if (!Number.isInteger(selection) || selection < 0) throw new RangeError(`subset size must be a non-negative integer, got ${selection}`);
      const n = Math.min(selection, base.length);
      this.indices = new Int32Array(n);
      for (let i = 0; i < n; i++) this.indices[i] = i;
    } else {
      this.indices = Int32Array.from(selection, (k) => {
        if (!Number.isInteger(k) || k < 0 || k >= base.length) {
          throw new RangeError(`subset index ${k} is out of range for a dataset of ${base.length} examples`);
        }
        return k;
      });
    }
    if (isWorkerDecodable(base)) this.workerModule = base.workerModule;
  }

  get length(): number {
    return this.indices.length;
  }

  private map(indices: readonly number[]): number[] {
    return indices.map((i) => {
      const k = this.indices[i];
      if (!Number.isInteger(i) || k === undefined) throw new RangeError(`index ${i} is out of range for a subset of ${this.length} examples`);
      return k;
    });
  }

  get(indices: readonly number[]): Batch {
    return this.base.get(this.map(indices));
  }

  workerTask(indices: readonly number[]): unknown {
    return (this.base as Dataset & WorkerDecodable).workerTask(this.map(indices));
  }

  fromWorker(result: unknown, indices: readonly number[]): Batch {
    return (this.base as Dataset & WorkerDecodable).fromWorker(result, this.map(indices));
  }
}

/** The first n examples of a dataset, or the examples at the given indices. */
export function subset(ds: Dataset, selection: number | readonly number[]): Subset {
  return new Subset(ds, selection);
}
