// The attack base (after torchattacks' Attack): input checks, eval mode during the attack, target
// selection modes, seeding, and the result with per-example success.
import * as torch from '@robusta/torch';
import { isFloatingDtype, noGrad, Tensor, tidy } from '@robusta/torch';
import type { Classifier } from './classifier.js';
import { checkNumber } from './params.js';

/** Chooses target classes from the clean images and their labels (int64 [N] out). */
export type TargetFunction = (images: Tensor, labels: Tensor) => Tensor;

/**
 * - 'untargeted': make the prediction differ from the label (default);
 * - 'targeted': reach the classes passed to run(images, labels, targets);
 * - 'random': a class drawn uniformly among those ≠ label;
 * - 'leastLikely': the class with the k-th smallest clean logit among those ≠ label (k = leastLikelyRank);
 * - a function (images, labels) => targets.
 */
export type AttackMode = 'untargeted' | 'targeted' | 'random' | 'leastLikely' | TargetFunction;

export interface AttackOptions {
  mode?: AttackMode;
  /** k for mode 'leastLikely' (1 = the least likely class). Default 1. */
  leastLikelyRank?: number;
  /**
   * Gives the attack its own random stream for its draws (random starts, random targets, Square's
   * windows): seeded once, at the first run(), and running on across later run() calls — batch 2 of
   * a dataset continues the stream where batch 1 stopped, as a PyTorch loop that seeds once
   * (torchattacks) does, instead of every batch getting the same random start. The caller's
   * generator is left as it was. `resetRandomStream()` starts the stream again (evaluateRobustness
   * does at the start of every evaluation); AutoAttack restarts its components' streams at every
   * run(), as the official code re-seeds them at every call. Undefined: draw from torch's generator
   * as it is.
   */
  seed?: number;
}

/** One attack's progress inside a composite attack (AutoAttack). */
export interface AttackStage {
  attack: string;
  /** Examples still robust after this stage (of those correctly classified when clean). */
  robust: number;
  total: number;
  seconds: number;
}

export interface AttackResult {
  /** Adversarial images, same shape as the input, in [0, 1]. */
  adv: Tensor;
  /** bool [N]: prediction ≠ label (untargeted) or prediction = target (targeted). */
  success: Tensor;
  /** int64 [N]: predictions on the clean and on the adversarial images. */
  cleanPred: Tensor;
  advPred: Tensor;
  /** int64 [N]: the targets in targeted modes, else null. */
  targets: Tensor | null;
  /** Model queries per example (score-based attacks). */
  queries?: Tensor;
  /** Per-stage robust counts (composite attacks). */
  stages?: AttackStage[];
}

/**
 * What an attack's perturb() receives: validated inputs, and the clean logits and class count on
 * demand. `cleanLogits` costs a forward pass the first time it is read (an attack that needs it reads
 * it; one that does not, like FGSM or PGD, never pays for it); `numClasses` is free once any forward
 * pass of the run has happened.
 */
export interface AttackInput {
  readonly images: Tensor;
  readonly labels: Tensor;
  readonly targets: Tensor | null;
  readonly cleanLogits: Tensor;
  readonly numClasses: number;
}

/** What a caller may hand run()/generate() besides the batch. */
export interface RunOptions {
  /**
   * The model's logits on the clean images, [N, C], if the caller has them (an evaluation that
   * already classified the batch): the run then makes no clean forward pass of its own.
   */
  cleanLogits?: Tensor;
}

export interface PerturbOutput {
  adv: Tensor;
  queries?: Tensor;
  stages?: AttackStage[];
}

/** An attack's random stream between run() calls: the generator state by device ('cpu', 'cuda:0', ...). */
export type RandomStreamState = Record<string, Uint8Array>;

export interface AttackCapabilities {
  /** Whether the attack has a targeted variant. */
  targeted: boolean;
}

export abstract class Attack {
  readonly name: string;
  readonly model: Classifier;
  readonly mode: AttackMode;
  readonly leastLikelyRank: number;
  readonly seed: number | undefined;
  /** Where the attack's random stream stopped (null: not started, the next run() seeds it). */
  private stream: RandomStreamState | null = null;

  constructor(name: string, model: Classifier, options: AttackOptions, capabilities: AttackCapabilities, defaultSeed?: number) {
    if (!model || typeof model.forward !== 'function') throw new TypeError(`${name}: model must have a forward(x) method`);
    this.name = name;
    this.model = model;
    this.mode = options.mode ?? 'untargeted';
    const known = ['untargeted', 'targeted', 'random', 'leastLikely'];
    if (typeof this.mode !== 'function' && !known.includes(this.mode)) {
      throw new TypeError(`${name}: unknown mode '${String(this.mode)}' (use ${known.join(', ')} or a function)`);
    }
    if (this.mode !== 'untargeted' && !capabilities.targeted) {
      throw new TypeError(`${name}: targeted modes are not supported by this attack`);
    }
    this.leastLikelyRank = checkNumber(name, 'leastLikelyRank', options.leastLikelyRank ?? 1, { min: 1, integer: true });
    const seed = options.seed ?? defaultSeed;
    this.seed = seed === undefined ? undefined : checkNumber(name, 'seed', seed, { min: 0, integer: true });
  }

  get targeted(): boolean {
    return this.mode !== 'untargeted';
  }

  /** Starts the random stream again: the next run() seeds it and draws what the first run() drew. */
  resetRandomStream(): void {
    this.stream = null;
  }

  /** Where the random stream stopped (copies), to save with a resumable evaluation; null before the first run() or without a seed. */
  randomStreamState(): RandomStreamState | null {
    return this.stream ? Object.fromEntries(Object.entries(this.stream).map(([d, b]) => [d, b.slice()])) : null;
  }

  /** Continues the random stream from a saved state (null: start it again). */
  restoreRandomStream(state: RandomStreamState | null): void {
    this.stream = state ? Object.fromEntries(Object.entries(state).map(([d, b]) => [d, b.slice()])) : null;
  }

  /**
   * Attacks a batch. images: float [N, ...] in [0, 1]; labels: int64 [N]; targets: int64 [N], only
   * (and then required) in mode 'targeted'. Returns new tensors the caller owns (dispose them, or
   * call run inside tidy()). Besides the attack's own work, run() makes the forward pass on the
   * adversarial images that decides success, and one on the clean images unless the attack made it.
   */
  run(images: Tensor, labels: Tensor, targets?: Tensor, options: RunOptions = {}): AttackResult {
    return this.execute(images, labels, targets, options, true) as AttackResult;
  }

  /**
   * The adversarial images alone, like torchattacks' `attack(images, labels)`: no forward pass
   * beyond the attack's own (no success check, no clean predictions). Same draws and result as
   * run(...).adv.
   */
  generate(images: Tensor, labels: Tensor, targets?: Tensor, options: RunOptions = {}): Tensor {
    return this.execute(images, labels, targets, options, false) as Tensor;
  }

  private execute(images: Tensor, labels: Tensor, targets: Tensor | undefined, options: RunOptions, full: boolean): AttackResult | Tensor {
    this.checkInputs(images, labels, targets);
    const given = options.cleanLogits;
    if (given !== undefined) {
      const n = images.shape[0]!;
      if (!(given instanceof Tensor) || given.ndim !== 2 || given.shape[0] !== n || given.shape[1]! < 2) {
        throw new RangeError(`${this.name}: cleanLogits must be a Tensor [${n}, C] with C >= 2${given instanceof Tensor ? `, got [${given.shape.join(', ')}]` : ''}`);
      }
    }
    const wasTraining = this.model.training;
    const saved = this.seed === undefined ? null : saveRng(images);
    this.model.eval();
    const outer = this.current;
    try {
      if (this.seed !== undefined) this.enterStream(this.seed, images.device);
      return tidy(() => {
        const input = new RunInput(this.name, this.forward, images.detach(), labels, targets ?? null);
        this.current = input;
        if (given !== undefined) input.useCleanLogits(given.detach());
        input.targets = this.resolveTargets(input, targets);
        const out = this.perturb(input);
        const o: PerturbOutput = out instanceof Tensor ? { adv: out } : out;
        const adv = o.adv.detach();
        if (!full) return adv;
        const advPred = noGrad(() => this.forward(adv)).argmax(1);
        const tgt = input.targets;
        const success = tgt ? advPred.eq(tgt) : advPred.ne(labels);
        const result: AttackResult = { adv, success, cleanPred: input.cleanLogits.argmax(1), advPred, targets: tgt };
        if (o.queries) result.queries = o.queries;
        if (o.stages) result.stages = o.stages;
        return result;
      });
    } finally {
      this.current = outer;
      this.model.train(wasTraining);
      if (saved) {
        this.stream = { ...this.stream, ...rngBytes(images.device) };
        restoreRng(saved);
      }
    }
  }

  /** Puts the attack's stream into torch's generators: seeded the first time, else where it stopped. */
  private enterStream(seed: number, device: torch.Device): void {
    const stream = this.stream;
    if (stream === null) {
      torch.manualSeed(seed);
      return;
    }
    if (device.startsWith('cuda') && stream[device] === undefined) {
      // The stream has not used this GPU yet: its generator starts from the seed, the CPU's runs on.
      torch.manualSeed(seed);
    }
    for (const [d, bytes] of Object.entries(stream)) {
      if (d === 'cpu' || d === device) setRngBytes(bytes, d as torch.Device);
    }
  }

  /** The attack proper: returns the adversarial images (and extras), given validated inputs. */
  protected abstract perturb(input: AttackInput): Tensor | PerturbOutput;

  /** The batch being attacked (null outside run()/generate()). */
  private current: RunInput | null = null;

  /**
   * The model's forward pass (the one place attacks call the model). The run's first pass checks
   * the logits' shape and that labels and targets are classes of the model, before any work that
   * depends on them.
   */
  protected readonly forward = (x: Tensor): Tensor => {
    const logits = this.model.forward(x);
    const run = this.current;
    if (run !== null && run.numClassesSeen === null) run.validate(x, logits);
    return logits;
  };

  private checkInputs(images: Tensor, labels: Tensor, targets: Tensor | undefined): void {
    if (!(images instanceof Tensor)) throw new TypeError(`${this.name}: images must be a Tensor`);
    if (!(labels instanceof Tensor)) throw new TypeError(`${this.name}: labels must be a Tensor`);
    if (!isFloatingDtype(images.dtype)) throw new TypeError(`${this.name}: images must be a floating tensor, got ${images.dtype}`);
    if (images.ndim < 2 || images.shape[0] === 0) {
      throw new RangeError(`${this.name}: images must be a non-empty batch [N, ...], got shape [${images.shape.join(', ')}]`);
    }
    const [lo, hi] = tidy(() => noGrad(() => [images.min().item(), images.max().item()]));
    if (!(lo! >= 0 && hi! <= 1)) {
      throw new RangeError(`${this.name}: images must lie in [0, 1] (normalisation belongs inside the model), got values in [${lo}, ${hi}]`);
    }
    checkLabelTensor(this.name, 'labels', labels, images.shape[0]!);
    if (this.mode === 'targeted') {
      if (!targets) throw new TypeError(`${this.name}: mode 'targeted' needs run(images, labels, targets)`);
      checkLabelTensor(this.name, 'targets', targets, images.shape[0]!);
    } else if (targets) {
      throw new TypeError(`${this.name}: targets were given but the mode is '${typeof this.mode === 'function' ? 'function' : this.mode}' (use mode: 'targeted')`);
    }
  }

  private resolveTargets(input: RunInput, targets: Tensor | undefined): Tensor | null {
    const mode = this.mode;
    const { images, labels } = input;
    if (mode === 'untargeted') return null;
    let t: Tensor;
    if (mode === 'targeted') {
      t = targets!.clone();
    } else if (mode === 'random') {
      // Uniform over the C - 1 classes ≠ y: shift y by a random offset in [1, C-1] modulo C.
      const numClasses = input.numClasses;
      const offset = torch.randint(1, numClasses, [labels.shape[0]!], { device: labels.device });
      t = labels.add(offset).remainder(numClasses);
    } else if (mode === 'leastLikely') {
      const numClasses = input.numClasses;
      if (this.leastLikelyRank > numClasses - 1) {
        throw new RangeError(`${this.name}: leastLikelyRank ${this.leastLikelyRank} exceeds the ${numClasses - 1} classes other than the label`);
      }
      // The label is excluded by giving it +∞ before sorting ascending.
      const masked = input.cleanLogits.scatter(1, labels.unsqueeze(1), Infinity);
      t = masked.argsort(1).select(1, this.leastLikelyRank - 1).contiguous();
    } else {
      const r = noGrad(() => mode(images, labels));
      if (!(r instanceof Tensor)) throw new TypeError(`${this.name}: the target function must return a Tensor`);
      checkLabelTensor(this.name, 'targets returned by the target function', r, labels.shape[0]!);
      t = r;
    }
    // The class range is checked now if the class count is known, else at the run's first forward pass.
    if (input.numClassesSeen !== null) checkClassRange(this.name, 'targets', t, input.numClassesSeen);
    return t;
  }
}

/** One run's inputs: the clean logits made on first use, and the check of the first forward pass. */
class RunInput implements AttackInput {
  targets: Tensor | null = null;
  /** C, once a forward pass of this run has been checked. */
  numClassesSeen: number | null = null;
  private clean: Tensor | null = null;

  /** forward: the attack's checked forward pass (the run's first pass validates the logits). */
  constructor(private readonly owner: string, private readonly forward: (x: Tensor) => Tensor, readonly images: Tensor,
    readonly labels: Tensor, private readonly givenTargets: Tensor | null) {}

  get cleanLogits(): Tensor {
    if (this.clean === null) this.clean = noGrad(() => this.forward(this.images)).detach();
    return this.clean;
  }

  get numClasses(): number {
    return this.numClassesSeen ?? this.cleanLogits.shape[1]!;
  }

  /** Clean logits the caller computed: checked like a forward pass of the run. */
  useCleanLogits(logits: Tensor): void {
    this.validate(this.images, logits);
    this.clean = logits;
  }

  validate(x: Tensor, logits: Tensor): void {
    const name = this.owner;
    const n = x.shape[0]!;
    if (logits.ndim !== 2 || logits.shape[0] !== n || logits.shape[1]! < 2) {
      throw new RangeError(`${name}: the model must return logits of shape [${n}, C] with C >= 2, got [${logits.shape.join(', ')}]`);
    }
    const numClasses = logits.shape[1]!;
    checkClassRange(name, 'labels', this.labels, numClasses);
    const targets = this.targets ?? this.givenTargets;
    if (targets) checkClassRange(name, 'targets', targets, numClasses);
    this.numClassesSeen = numClasses;
  }
}

function checkLabelTensor(owner: string, what: string, t: Tensor, n: number): void {
  if (!(t instanceof Tensor)) throw new TypeError(`${owner}: ${what} must be a Tensor`);
  if (t.dtype !== 'int64') throw new TypeError(`${owner}: ${what} must be int64 class indices, got ${t.dtype}`);
  if (t.ndim !== 1 || t.shape[0] !== n) throw new RangeError(`${owner}: ${what} must have shape [${n}], got [${t.shape.join(', ')}]`);
}

function checkClassRange(owner: string, what: string, t: Tensor, numClasses: number): void {
  const [lo, hi] = tidy(() => [t.min().item(), t.max().item()]) as [number, number];
  if (lo < 0 || hi >= numClasses) {
    throw new RangeError(`${owner}: ${what} must be class indices in [0, ${numClasses - 1}] (the model has ${numClasses} logits), got values in [${lo}, ${hi}]`);
  }
}

interface SavedRng {
  cpu: Tensor;
  cuda: Tensor | null;
  device: torch.Device;
}
function saveRng(images: Tensor): SavedRng {
  const device = images.device;
  const cpu = torch.keep(torch.getRngState('cpu'));
  const cuda = device.startsWith('cuda') ? torch.keep(torch.getRngState(device)) : null;
  return { cpu, cuda, device };
}
/** The generator states the stream touched on `device`: the CPU's, and the GPU's for a CUDA batch. */
function rngBytes(device: torch.Device): RandomStreamState {
  const out: RandomStreamState = {};
  for (const d of device.startsWith('cuda') ? ['cpu', device] : ['cpu']) {
    tidy(() => { out[d] = new Uint8Array(torch.getRngState(d as torch.Device).data() as Uint8Array); });
  }
  return out;
}

function setRngBytes(bytes: Uint8Array, device: torch.Device): void {
  tidy(() => torch.setRngState(torch.tensor(bytes, { dtype: 'uint8' }), device));
}

function restoreRng(s: SavedRng): void {
  torch.setRngState(s.cpu, 'cpu');
  s.cpu.dispose();
  if (s.cuda) {
    torch.setRngState(s.cuda, s.device);
    s.cuda.dispose();
  }
}
