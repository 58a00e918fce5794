// The DataLoader: batches of a Dataset in a seeded order, with an optional per-batch transform.
//   for (const batch of loader.epoch(e)) { ... }         sync: each batch made when asked for
//   for await (const batch of loader.epoch(e)) { ... }   async: WorkerDecodable datasets (image files)
//                                                          are decoded ahead in worker threads
// Reproducibility: the order of epoch e is a pure function of (seed, e), and the transform of batch
// i gets an Rng that depends on (seed, e, i) only, so a run resumed at epoch e (or at batch i, with
// epoch(e, { start: i })) sees exactly the batches the uninterrupted run would have.
// Ownership: every batch's tensors belong to the consumer. Dispose them (torch.dispose(batch)) when
// done, or create the batch inside the tidy() that consumes it (loader.batch(e, i) within tidy).
import { availableParallelism } from 'node:os';
import { tidy, type Device } from '@robusta/torch';
import { isWorkerDecodable, Subset, type Batch, type Dataset } from './dataset.js';
import { Rng } from './random.js';
import { WorkerPool } from './worker-pool.js';

export interface BatchContext {
  epoch: number;
  /** The batch's position in its epoch. */
  index: number;
  /** A random stream determined by (seed, epoch, index): use it for augmentation. */
  rng: Rng;
}

/** A per-batch transform (augmentation, normalisation ...). Runs inside tidy: intermediates are freed. */
export type BatchTransform = (batch: Batch, context: BatchContext) => Batch;

export interface DataLoaderOptions {
  batchSize: number;
  /** Shuffle the examples each epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of the shuffles and of the transform's random streams (default 0). */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  transform?: BatchTransform;
  /** Use only the first n examples, or the examples at these indices. */
  subset?: number | readonly number[];
  /** Move each batch to this device after the transform. */
  device?: Device;
  /** Worker threads for WorkerDecodable datasets in the async iterator (default min(4, cores - 1); 0 decodes on the main thread). */
  workers?: number;
  /** Batches decoded ahead of the consumer in the async iterator (default 2 per worker). */
  prefetch?: number;
}

export interface EpochOptions {
  /** The first batch to produce (resume in the middle of an epoch). */
  start?: number;
}

// Stream tags, so that the order stream and the per-batch streams never coincide.
const ORDER_STREAM = 0x07de;
const BATCH_STREAM = 0xba7c;

function checkCount(v: number, what: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`DataLoader: ${what} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** One epoch's batches: iterate with for...of (sync) or for await...of (prefetching). */
export class Epoch implements Iterable<Batch>, AsyncIterable<Batch> {
  constructor(
    private readonly loader: DataLoader,
    readonly epoch: number,
    readonly start: number,
  ) {}

  *[Symbol.iterator](): Iterator<Batch> {
    const batches = this.loader.batchIndices(this.epoch);
    for (let i = this.start; i < batches.length; i++) {
      yield this.loader.makeBatch(() => this.loader.dataset.get(batches[i]!), this.epoch, i);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const { loader } = this;
    const ds = loader.dataset;
    const batches = loader.batchIndices(this.epoch);
    if (!isWorkerDecodable(ds) || loader.workers === 0 || this.start >= batches.length) {
      for (const b of this) yield b;
      return;
    }
    const pool = new WorkerPool(ds.workerModule, Math.min(loader.workers, batches.length - this.start));
    const inflight: Promise<unknown>[] = [];
    let next = this.start;
    const launch = (): void => {
      while (next < batches.length && inflight.length < loader.prefetch) {
        const p = pool.run(ds.workerTask(batches[next++]!));
        p.catch(() => {}); // reported when awaited; silenced if the consumer stops early
        inflight.push(p);
      }
    };
    try {
      launch();
      for (let i = this.start; i < batches.length; i++) {
        const raw = await inflight.shift()!;
        launch();
        yield loader.makeBatch(() => ds.fromWorker(raw, batches[i]!), this.epoch, i);
      }
    } finally {
      await pool.close();
    }
  }
}

export class DataLoader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly workers: number;
  readonly prefetch: number;
  private readonly transform?: BatchTransform;
  private readonly device?: Device;

  constructor(dataset: Dataset, options: DataLoaderOptions) {
    this.dataset = options.subset === undefined ? dataset : new Subset(dataset, options.subset);
    this.batchSize = checkCount(options.batchSize, 'batchSize', 1);
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed)) throw new RangeError(`DataLoader: seed must be a safe integer, got ${this.seed}`);
    this.dropLast = options.dropLast ?? false;
    this.workers = checkCount(options.workers ?? Math.min(4, Math.max(1, availableParallelism() - 1)), 'workers', 0);
    this.prefetch = checkCount(options.prefetch ?? 2 * Math.max(1, this.workers), 'prefetch', 1);
    this.transform = options.transform;
    this.device = options.device;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The example order of an epoch: a permutation determined by (seed, epoch), or 0..n-1 without shuffle. */
  order(epoch: number): Int32Array {
    checkCount(epoch, 'epoch', 0);
    const n = this.dataset.length;
    if (this.shuffle) return Rng.from(this.seed, epoch, ORDER_STREAM).permutation(n);
    const identity = new Int32Array(n);
    for (let i = 0; i < n; i++) identity[i] = i;
    return identity;
  }

  /** The dataset indices of each batch of an epoch. */
  batchIndices(epoch: number): number[][] {
    const order = this.order(epoch);
    const out: number[][] = [];
    for (let b = 0; b < this.length; b++) {
      out.push(Array.from(order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length))));
    }
    return out;
  }

  /** The random stream the transform of batch `index` of `epoch` receives. */
  batchRng(epoch: number, index: number): Rng {
    return Rng.from(this.seed, epoch, index, BATCH_STREAM);
  }

  /** Batch `index` of `epoch`, exactly as the iterators produce it (random access, sync). */
  batch(epoch: number, index: number): Batch {
    checkCount(index, 'batch index', 0);
    if (index >= this.length) throw new RangeError(`DataLoader: batch ${index} of an epoch of ${this.length} batches`);
    const indices = this.batchIndices(epoch)[index]!;
    return this.makeBatch(() => this.dataset.get(indices), epoch, index);
  }

  /** The batches of an epoch: `for (const b of loader.epoch(e))` or `for await (const b of loader.epoch(e))`. */
  epoch(epoch = 0, options: EpochOptions = {}): Epoch {
    checkCount(epoch, 'epoch', 0);
    return new Epoch(this, epoch, checkCount(options.start ?? 0, 'start', 0));
  }

  /** @internal gets the raw batch, applies the transform and the device move; intermediates are freed. */
  makeBatch(get: () => Batch, epoch: number, index: number): Batch {
    return tidy(() => {
      let b = get();
      if (this.transform) b = this.transform(b, { epoch, index, rng: this.batchRng(epoch, index) });
      if (this.device !== undefined) b = { x: b.x.to({ device: this.device }), y: b.y.to({ device: this.device }) };
      return { x: b.x, y: b.y };
    });
  }
}
