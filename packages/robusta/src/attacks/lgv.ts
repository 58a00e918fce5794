// LGV — Gubri, Cordy, Papadakis, Le Traon & Sen, "LGV: Boosting Adversarial Example Transferability
// from Large Geometric Vicinity", ECCV 2022: surrogate weights collected along the SGD trajectory at a
// constant high learning rate, then a transfer attack on that collection (one surrogate per gradient).
import * as torch from '@robusta/torch';
import { F, keep, noGrad, type Tensor, tidy } from '@robusta/torch';
import type { Batch } from '../data/dataset.js';
import { SGD } from '../optim/sgd.js';
import { Attack, type AttackInput, type AttackOptions } from './attack.js';
import { BIM, type BIMOptions } from './bim.js';
import type { Classifier } from './classifier.js';
import { checkNumber } from './params.js';

/** A classifier whose weights can be trained and swapped: parameters (then buffers, e.g. BatchNorm's) in a fixed order. */
export interface TrainableClassifier extends Classifier {
  parameters(): Tensor[];
  buffers?(): Tensor[];
}

/** Batches of training data by epoch (robusta's DataLoader is one). */
export interface TrainBatches {
  readonly length: number;
  batch(epoch: number, index: number): Batch;
}

/** Weights of one collected model: its parameters, then its buffers, in the model's order. */
export type WeightSnapshot = readonly Tensor[];

export interface LGVOptions extends AttackOptions {
  /** Training data in [0, 1] (the paper: batch size 256). Needed unless loadModels() is called first. */
  trainLoader?: TrainBatches;
  /** Constant SGD learning rate of the collection (momentum 0.9). Default 0.05. */
  lr?: number;
  /** Epochs of collection. Default 10. */
  epochs?: number;
  /** Models collected per epoch. Default 4. */
  nbModelsEpoch?: number;
  /** SGD weight decay. Default 1e-4. */
  wd?: number;
  /** Surrogates whose logits are averaged in each forward pass; −1: all. Default 1. */
  nGrad?: number;
  /**
   * A fresh model of the same architecture (weights are loaded into it): one per collected model, as
   * torchattacks' deep copies. Without it the surrogates take turns in the attacked model's own
   * tensors (restored after every run), which supports nGrad = 1 only.
   */
  copyModel?: () => TrainableClassifier;
  /** The attack run on the surrogates (torchattacks' attack_class). Default BIM with `attackOptions`. */
  attack?: (surrogate: Classifier, mode: 'untargeted' | 'targeted') => Attack;
  /** Options of the default BIM (torchattacks' **kwargs): eps, alpha, steps. Default BIM's defaults. */
  attackOptions?: Omit<BIMOptions, 'mode' | 'seed'>;
}

/**
 * Phase 1 (collectModels, run at the first attack unless models were loaded): from the model's
 * weights, SGD (lr constant, momentum 0.9, weight decay wd) on the cross-entropy in training mode;
 * after every ⌊len(loader)/nbModelsEpoch⌋ batches — each span starting a new pass over the loader, as
 * torchattacks' islice of a fresh iterator — a copy of the weights is kept: epochs·nbModelsEpoch
 * surrogates. The attacked model's weights and mode are restored afterwards.
 * Phase 2: the base attack (BIM by default) on the ensemble that, per forward pass, runs nGrad
 * surrogates (cycling through them in an order shuffled once) and averages their logits. Success
 * is measured on the attacked model (this is a transfer attack).
 */
export class LGV extends Attack {
  readonly lr: number;
  readonly epochs: number;
  readonly nbModelsEpoch: number;
  readonly wd: number;
  readonly nGrad: number;
  /** The default base attack's (BIM's) options. */
  readonly attackOptions: Omit<BIMOptions, 'mode' | 'seed'>;
  private readonly trainLoader: TrainBatches | undefined;
  private readonly copyModel: (() => TrainableClassifier) | undefined;
  private readonly makeAttack: (surrogate: Classifier, mode: 'untargeted' | 'targeted') => Attack;
  private collected: Tensor[][] = [];
  private ensemble: SurrogateEnsemble | null = null;
  private base: Attack | null = null;

  constructor(model: TrainableClassifier, options: LGVOptions = {}) {
    super('LGV', model, options, { targeted: true });
    if (typeof model.parameters !== 'function') throw new TypeError('LGV: the model must expose parameters() (an nn.Module does)');
    this.lr = checkNumber(this.name, 'lr', options.lr ?? 0.05, { min: 0 });
    this.epochs = checkNumber(this.name, 'epochs', options.epochs ?? 10, { min: 0, integer: true });
    this.nbModelsEpoch = checkNumber(this.name, 'nbModelsEpoch', options.nbModelsEpoch ?? 4, { min: 0, integer: true });
    this.wd = checkNumber(this.name, 'wd', options.wd ?? 1e-4, { min: 0 });
    this.nGrad = checkNumber(this.name, 'nGrad', options.nGrad ?? 1, { integer: true });
    if (!(this.nGrad >= 1 || this.nGrad === -1)) throw new RangeError(`LGV: nGrad must be >= 1 or -1 (all models), got ${this.nGrad}`);
    this.copyModel = options.copyModel;
    if (!this.copyModel && this.nGrad !== 1) throw new RangeError('LGV: nGrad other than 1 needs copyModel (surrogates then live in their own copies)');
    this.trainLoader = options.trainLoader;
    this.attackOptions = { ...options.attackOptions };
    this.makeAttack = options.attack ?? ((surrogate, mode) => new BIM(surrogate, { ...this.attackOptions, mode }));
  }

  /** The collected weights (live tensors owned by the attack). */
  get models(): readonly WeightSnapshot[] {
    return this.collected;
  }

  /** Uses these weights (copied) instead of collecting: torchattacks' load_models. */
  loadModels(snapshots: readonly WeightSnapshot[]): void {
    if (snapshots.length === 0) throw new RangeError('LGV: loadModels needs at least one model');
    const like = this.weights();
    for (const s of snapshots) {
      if (s.length !== like.length || s.some((t, i) => t.numel() !== like[i]!.numel())) {
        throw new RangeError('LGV: a loaded model does not have the weights of the attacked model');
      }
    }
    this.release();
    this.collected = snapshots.map((s) => s.map((t) => keep(tidy(() => t.detach().clone()))));
  }

  /** Phase 1: collects epochs·nbModelsEpoch weight snapshots along SGD (see the class comment). */
  collectModels(): void {
    const loader = this.trainLoader;
    if (!loader) throw new TypeError('LGV: give trainLoader (or call loadModels) to collect surrogate models');
    const model = this.model as TrainableClassifier;
    const span = Math.floor(loader.length / Math.max(this.nbModelsEpoch, 1));
    if (span < 1) throw new RangeError(`LGV: the loader has ${loader.length} batches, fewer than nbModelsEpoch = ${this.nbModelsEpoch}`);
    const params = model.parameters();
    const original = this.weights().map((t) => keep(tidy(() => t.detach().clone())));
    const wasTraining = model.training;
    const grads = params.map((p) => p.requiresGrad);
    const snapshots: Tensor[][] = [];
    const optimizer = new SGD(params, { lr: this.lr, momentum: 0.9, weightDecay: this.wd });
    try {
      for (const p of params) p.requiresGrad_(true);
      model.train(true);
      for (let sample = 0; sample < this.epochs * this.nbModelsEpoch; sample++) {
        for (let b = 0; b < span; b++) {
          tidy(() => {
            const { x, y } = loader.batch(sample, b);
            optimizer.zeroGrad();
            F.crossEntropy(model.forward(x), y).backward();
            optimizer.step();
          });
        }
        snapshots.push(this.weights().map((t) => keep(tidy(() => t.detach().clone()))));
      }
    } finally {
      optimizer.zeroGrad();
      optimizer.dispose();
      model.train(wasTraining);
      params.forEach((p, i) => p.requiresGrad_(grads[i]!));
      copyInto(this.weights(), original);
      for (const t of original) t.dispose();
    }
    this.release();
    this.collected = snapshots;
  }

  protected perturb({ images, labels, targets }: AttackInput): Tensor {
    if (this.collected.length === 0) this.collectModels();
    if (!this.base) {
      this.ensemble = new SurrogateEnsemble(this.model as TrainableClassifier, this.collected, this.nGrad, this.copyModel);
      this.base = this.makeAttack(this.ensemble, this.targeted ? 'targeted' : 'untargeted');
    }
    const ensemble = this.ensemble!;
    ensemble.enter();
    try {
      return this.base.generate(images, labels, targets ?? undefined);
    } finally {
      ensemble.leave();
    }
  }

  /** The attacked model's weights: parameters, then buffers. */
  private weights(): Tensor[] {
    const m = this.model as TrainableClassifier;
    return [...m.parameters(), ...(m.buffers?.() ?? [])];
  }

  private release(): void {
    for (const s of this.collected) for (const t of s) t.dispose();
    this.collected = [];
    this.ensemble?.dispose();
    this.ensemble = null;
    this.base = null;
  }
}

/**
 * torchattacks' LightEnsemble: each forward pass runs nGrad surrogates, taken in turn from an order
 * shuffled once (all of them when nGrad = −1 or ≥ their number), and averages their logits.
 */
class SurrogateEnsemble implements Classifier {
  private readonly order: number[];
  private readonly copies: TrainableClassifier[] | null;
  private count = 0;
  private saved: Tensor[] | null = null;
  training = false;

  constructor(private readonly model: TrainableClassifier, private readonly snapshots: Tensor[][], private readonly nGrad: number,
    copyModel: (() => TrainableClassifier) | undefined) {
    // The attack's random stream is active: a seeded LGV shuffles the same way every time.
    this.order = tidy(() => torch.randperm(snapshots.length).toFlatArray());
    this.copies = copyModel ? snapshots.map((s) => {
      const copy = copyModel();
      copyInto(weightsOf(copy), s);
      copy.eval();
      return copy;
    }) : null;
  }

  /** Before an attack: without copies, remember the attacked model's weights (they are swapped out). */
  enter(): void {
    if (!this.copies) this.saved = weightsOf(this.model).map((t) => keep(tidy(() => t.detach().clone())));
  }

  leave(): void {
    if (this.saved) {
      copyInto(weightsOf(this.model), this.saved);
      for (const t of this.saved) t.dispose();
      this.saved = null;
    }
  }

  forward(x: Tensor): Tensor {
    const n = this.snapshots.length;
    const all = this.nGrad < 0 || this.nGrad >= n;
    const picks = all ? this.order.map((_, i) => i) : Array.from({ length: this.nGrad }, (_, i) => this.order[(this.count + i) % n]!);
    if (!all) this.count += this.nGrad;
    const logits = picks.map((k) => {
      if (this.copies) return this.copies[k]!.forward(x);
      copyInto(weightsOf(this.model), this.snapshots[k]!);
      return this.model.forward(x);
    });
    return logits.length === 1 ? logits[0]! : torch.stack(logits, 0).mean(0);
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this.copies ?? [this.model]) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  dispose(): void {
    for (const c of this.copies ?? []) (c as { dispose?: () => void }).dispose?.();
  }
}

function weightsOf(m: TrainableClassifier): Tensor[] {
  return [...m.parameters(), ...(m.buffers?.() ?? [])];
}

function copyInto(dst: Tensor[], src: readonly Tensor[]): void {
  noGrad(() => tidy(() => dst.forEach((t, i) => t.copy_(src[i]!))));
}
